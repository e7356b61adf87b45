# Process handling shared by the bench/ scripts (sourced; bash). The caller keeps the pids it
# started in the array `pids` and stops them all from its EXIT trap; `bench_name` prefixes messages.

stop_pid() {  # pid [signal]: signal, wait up to 10 s, then SIGKILL
  local pid=$1 sig=${2:-TERM} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$bench_name: pid $pid did not stop on SIG$sig; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

forget_pid() {  # removes a pid from the clean-up list once it has been stopped
  local keep=() p
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}

wait_line() {  # pid log pattern what limit(tenths of a second): until the log shows the pattern
  local i
  for ((i = 0; i < $5; i++)); do
    kill -0 "$1" 2>/dev/null || { echo "$bench_name: $4 exited; see $2" >&2; return 1; }
    grep -q "$3" "$2" 2>/dev/null && return 0  # (the log may not exist yet)
    sleep 0.1
  done
  echo "$bench_name: $4 not ready in time; see $2" >&2
  return 1
}
