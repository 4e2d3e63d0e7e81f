import ForgetlensCLI
import LinearAlgebra

// Before anything else: OpenBLAS's kernel choice can only be fixed at load time (see BLASCoreType).
BLASCoreType.reexecIfMisdetected()
Forgetlens.runMain()
