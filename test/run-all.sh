#!/usr/bin/env bash
# `npm test`: every suite, in order of cost. Builds what the suites need first (native addon, JS bundles, renderer).
# Prints one closing line that sums all runners: "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test/artifacts
log=test/artifacts/run-all
mkdir -p "$log"
status=0
passed=0; failed=0; skipped=0

add_counts() { # $1 passed $2 failed $3 skipped
  passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); skipped=$((skipped + ${3:-0}))
}

step() { echo; echo "=== $1"; }

step "dependencies"
bash build/install-deps.sh || exit 1

step "build (native addon, JS, renderer)"
if ! npm run -s build; then echo "build failed"; exit 1; fi

# Checks that are not test runners count as one test each: passed, or failed (which fails the run).
check() { # $1 name, rest: the command
  local name=$1; shift
  if "$@" 2>&1 | tee "$log/$name.txt"; [ "${PIPESTATUS[0]}" -eq 0 ]; then add_counts 1 0 0
  else echo "$name failed (log: $log/$name.txt)"; add_counts 0 1 0; status=1; fi
}

step "typecheck (tsc per environment: contract, renderer, node, tools; the addon's generated index.d.ts)"
check typecheck npm run -s typecheck

step "lint (dependency-cruiser: the import rules between layers, no cycles)"
check lint npm run -s lint

step "cargo test"
( cd native && cargo test --release -p emberscope-core --features sampler 2>&1 ) | tee "$log/cargo.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
read -r p f i < <(awk '/^test result:/ {for (k=1;k<=NF;k++){ if ($(k)~/passed;?$/) p+=$(k-1); if ($(k)~/failed;?$/) f+=$(k-1); if ($(k)~/ignored;?$/) i+=$(k-1)}} END {print p+0, f+0, i+0}' "$log/cargo.txt")
add_counts "$p" "$f" "$i"

step "vitest (binding, services, contract, transports, renderer model)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$log/vitest.json" 2>&1 | tee "$log/vitest.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
if [ -f "$log/vitest.json" ]; then
  read -r p f i < <(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests+r.numTodoTests)' "$PWD/$log/vitest.json")
  add_counts "$p" "$f" "$i"
else failed=$((failed + 1)); fi

step "pytest"
python3 -m pytest test/python -q -rs 2>&1 | tee "$log/pytest.txt"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || status=1
read -r p f i < <(tail -n 3 "$log/pytest.txt" | awk '{for (k=1;k<=NF;k++){ if ($(k)~/^passed/) p+=$(k-1); if ($(k)~/^failed/ || $(k)~/^error/) f+=$(k-1); if ($(k)~/^skipped/) i+=$(k-1)}} END {print p+0, f+0, i+0}')
add_counts "$p" "$f" "$i"

step "Playwright in Chromium against emberscope serve"
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json="$log/e2e.json" 2>&1 | tee "$log/e2e.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
if [ -f "$log/e2e.json" ]; then
  read -r p f i < <(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests+r.numTodoTests)' "$PWD/$log/e2e.json")
  add_counts "$p" "$f" "$i"
else failed=$((failed + 1)); fi

echo
echo "Screenshots and logs: test/artifacts/"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
