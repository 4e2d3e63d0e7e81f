import ForgetlensCLI

Forgetlens.runMain()
