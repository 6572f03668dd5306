// The throughput objective: the steady state of a stream of inputs (docs/formulation.md,
// "Throughput"; docs/cost-model.md, "Streams of inputs").
//
// A decision is a Mapping with R >= 1 lanes (plan.hpp): input n follows lane n mod R, each lane
// maps every node to a device, and each device repeats its cyclic order of (lane, node) tasks
// once per round of R inputs. Compute on a device is one task at a time, in that order.
// Transfers occupy their link: one tensor at a time per direction, first come first served;
// a producer's tensor moves once per destination device however many consumers read it there;
// host inputs and outputs use the host's links for every input. Copies overlap compute (copy
// engines) unless a device says overlap_comm false.
//
// The pipeline replay injects inputs and runs every device's cyclic order and every link's
// queue. The period is found by running saturated (every input available at once) and taking
// the steady rate of rounds; the plan then runs with one input every period and must keep up:
// the latency of the last quarter of the inputs may not exceed that of the quarter before it
// (else the period grows, from at least the busiest resource's time per input, by 1%, then
// 5%, then 25% steps until it does; the last max-delay rounds drain and are not measured).
// The latency is the worst latency of the last half of the inputs at that period. Devices with
// overlap_comm false are busy during their copies (docs/cost-model.md).
#pragma once

#include "diviml/objective/objective.hpp"

namespace diviml {

// The plan of a decision for the throughput objective: lanes, period_us, latency_us
// (= makespan_us), and the times of one steady-state round (placements per lane and node,
// tensor moves, host transfers) relative to the injection of that round's first input.
// Fails naming the node or device when the decision is incomplete, a node cannot run where it
// is mapped, a link is missing, or the cyclic orders deadlock.
Result<Plan> pipeline_replay(const Problem& problem, const Mapping& mapping);

// The decision of a throughput plan: lanes from `plan.lanes`, devices and each device's cyclic
// order (by start time within the recorded round) from its placements, paced at its period_us
// (a plan may inject slower than its devices allow; Mapping::pace_us). Fails on placements
// that do not cover every (lane, node) exactly once.
Result<Mapping> pipeline_mapping_of(const Problem& problem, const Plan& plan);

// Proven lower bounds on the period of any plan, any number of lanes:
//  work: over a long stream every input's work is spread over the devices, so the period is at
//        least the least possible busiest-device load per input: the latency objective's work
//        bound (LP within `lp_time_limit_s`, else weight ascent), which is exactly that value;
//  host links: an input whose node cannot run on the host must cross one of the host's
//        outgoing links; they work in parallel, so the period is at least the sum over such
//        nodes of their cheapest input transfer over the number of links, and the same for
//        outputs back to the host.
//  loads: the LP below without its copies (every device's and host link's load together, each
//        node's shares fractional), a relaxation of the next that holds where it is too large to
//        build;
//  copies: the LP below, in what the others left of `lp_time_limit_s`.
double period_lower_bound_us(const Problem& problem, double lp_time_limit_s);

// The period's LP bound with copies: per node its shares of inputs per device (the average of
// the lanes' choices), per producer and device pair the share of inputs whose tensor moves; a
// producer's share on a whose consumer is elsewhere must leave a, a consumer's share on b whose
// producer is elsewhere must arrive at b; every device's compute and every link's copies per
// input (host transfers included) are at most the period. Valid for any number of lanes: the
// average of the lanes' integer choices satisfies every row. The value is the Lagrangian bound
// of the LP's row prices (weak duality, evaluated here), so it is sound at any time limit.
// 0 (no bound) when the model would exceed 100,000 columns or rows (tens of devices).
double copy_lp_bound_us(const Problem& problem, double time_limit_s);

// The copies' LP with devices gathered by server (where a platform has servers with shared
// links between them, docs/cost-model.md): per node and device a share, as above; per producer
// and ordered pair of servers the share of inputs whose tensor crosses, priced at the least
// copy between their devices; every server's copies out (in) at most its device count x the
// period (each copy between servers holds one of its devices' ways out and in), with the
// devices' compute, host links and ways of the LP above. Small where the device-level LP is too
// large to build (six-srv's 29 devices: 6 servers). 0 without shared server links, or beyond
// 100,000 columns or rows.
double server_copy_lp_bound_us(const Problem& problem, double time_limit_s);

// That LP: its bound and, when it was solved to optimality, its shares (node * k + device;
// empty otherwise), which heuristics round into lanes.
struct PeriodLp {
  double bound_us = 0;
  std::vector<double> share;
};
PeriodLp period_lp(const Problem& problem, double time_limit_s, bool copies = true);
// The copies' LP by server (server_copy_lp_bound_us), with its shares likewise.
PeriodLp server_period_lp(const Problem& problem, double time_limit_s);

// Weights resident per device for a lane-by-node device choice (task = lane * n + node): a
// node's weights once per device that runs it in any lane.
std::vector<double> resident_bytes(const Problem& problem, const std::vector<int>& device);

// Whether a throughput plan's steady state fits every device's memory_bytes (weights and state
// once per device, the tensors of every input in flight: memory.hpp); the first device that
// overflows, named with its bytes, as an input error.
Status steady_memory_fits(const Problem& problem, const Plan& plan);

const Objective& throughput_objective();

}  // namespace diviml
