from .run import console

console()
