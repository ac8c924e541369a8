# Sourced by the benches: a free TCP port, and the CPU ticks (user + system, from /proc)
# a process has used so far, alone or with its children.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU ticks of one process so far.
ticks_of() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# CPU ticks of a process's children so far (a supervisor's workers).
children_ticks() {
  local total=0 p
  for p in $(pgrep -P "$1"); do
    total=$((total + $(ticks_of "$p")))
  done
  echo "$total"
}

# CPU ticks of a process and its children so far.
ticks() {
  echo $(($(ticks_of "$1") + $(children_ticks "$1")))
}
