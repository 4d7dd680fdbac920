#!/usr/bin/env bash
# check_cli.sh PROGRAM...: each benchmark program answers --help with exit
# code 0 and an unknown option with exit code 2 and a message (naming the
# option, or first a required option that is missing: CLI11 checks those
# first) (the CTest `benchmarks_command_lines`).
set -u
failed=0
for program in "$@"; do
  name=$(basename "$program")
  if ! timeout 30 "$program" --help > /dev/null 2>&1; then
    echo "FAIL $name --help: exit code $?"
    failed=1
  fi
  out=$(timeout 30 "$program" --no-such-option 2>&1)
  code=$?
  if [[ $code != 2 ]]; then
    echo "FAIL $name --no-such-option: exit code $code, expected 2"
    failed=1
  elif [[ $out != *no-such-option* && $out != *" is required"* ]]; then
    echo "FAIL $name --no-such-option: the message names neither it nor a missing option: $out"
    failed=1
  else
    echo "ok   $name"
  fi
done
exit $failed
