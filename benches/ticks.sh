# Sourced by the benches that measure CPU time: the ticks (user + system) a process
# and its children have used so far, from /proc.
ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1"); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$total"
}
