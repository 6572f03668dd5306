from .ops import console

console()
