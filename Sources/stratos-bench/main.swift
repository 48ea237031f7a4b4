// stratos-bench: the benchmark program. Each figure lives in its own file of this folder.
print("stratos-bench")
