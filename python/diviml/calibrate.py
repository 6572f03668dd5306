"""`python3 -m diviml.calibrate`: the `diviml-calibrate` command (diviml.profile.calibrate)."""
from .profile.calibrate import console

if __name__ == "__main__":
    console()
