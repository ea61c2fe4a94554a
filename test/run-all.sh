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

# Every skip is listed with its reason above the closing line, and every failure with the first line of its error,
# so that the end of a CI log names what failed.
skips="$log/skips.txt"
: > "$skips"
failures="$log/failures.txt"
: > "$failures"

step "dependencies"
bash build/install-deps.sh || exit 1

step "build (native addon, JS, renderer)"
if ! npm run -s build; then echo "build failed"; exit 1; fi

# Checks that are not test runners count as one test each: passed, or failed (which fails the run).
check() { # $1 name, rest: the command
  local name=$1; shift
  if "$@" 2>&1 | tee "$log/$name.txt"; [ "${PIPESTATUS[0]}" -eq 0 ]; then add_counts 1 0 0
  else echo "$name failed (log: $log/$name.txt)"; echo "$name: failed (log: $log/$name.txt)" >> "$failures"; add_counts 0 1 0; status=1; fi
}

step "typecheck (tsc per environment: contract, renderer, node, tools; the addon's generated index.d.ts)"
check typecheck npm run -s typecheck

step "lint (dependency-cruiser: the import rules between layers, no cycles)"
check lint npm run -s lint

# A runner that fails without a failed test (did not compile, crashed, found no tests) still counts one failure.
runner_failed() { # $1 exit code, $2 failed tests it reported, $3 runner (its log is $log/$3.txt)
  [ "$1" -eq 0 ] && return 1
  status=1
  [ "${2:-0}" -eq 0 ] || return 1
  echo "$3: exited $1 without naming a failed test (log: $log/$3.txt)" >> "$failures"
}


# Passed, failed, skipped; the skipped tests' full names (which carry the reason) and the failed ones' names with the
# first line of their error, from vitest's JSON report.
vitest_counts() { # $1 json report, $2 label
  node -e '
    const fs = require("fs");
    const [report, skipsFile, failuresFile, label] = process.argv.slice(1);
    const r = require(report);
    const firstLine = (m) => String(m ?? "").replace(/\x1b\[[0-9;]*m/g, "").split("\n").find((l) => l.trim()) ?? "";
    const skipped = r.testResults.flatMap((f) => f.assertionResults.filter((a) => ["skipped", "pending", "todo"].includes(a.status)).map((a) => a.fullName));
    const brokenFiles = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"));
    const failed = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === "failed").map((a) => `${label}: ${f.name.replace(process.cwd() + "/", "")} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`));
    failed.push(...brokenFiles.map((f) => `${label}: ${f.name.replace(process.cwd() + "/", "")} did not run: ${firstLine(f.message)}`));
    fs.appendFileSync(skipsFile, skipped.map((n) => `${label}: ${n}\n`).join(""));
    fs.appendFileSync(failuresFile, failed.map((n) => `${n}\n`).join(""));
    console.log(r.numPassedTests, r.numFailedTests + brokenFiles.length, r.numPendingTests + r.numTodoTests);
  ' "$PWD/$1" "$skips" "$failures" "$2"
}

step "cargo test"
# cargo's harness has no runtime skip: a Rust test that cannot run here appends its reason to EMBERSCOPE_SKIP_LOG
# (sampler.rs `skip()`) and is moved from passed to skipped here.
cargo_skips="$PWD/$log/cargo-skips.txt"
: > "$cargo_skips"
( cd native && EMBERSCOPE_SKIP_LOG="$cargo_skips" cargo test --release -p emberscope-core --features sampler 2>&1 ) | tee "$log/cargo.txt"
rc=${PIPESTATUS[0]}
read -r p f i < <(awk '/^test result:/ {for (k=1;k<=NF;k++){ if ($(k)~/passed;?$/) p+=$(k-1); if ($(k)~/failed;?$/) f+=$(k-1); if ($(k)~/ignored;?$/) i+=$(k-1)}} END {print p+0, f+0, i+0}' "$log/cargo.txt")
runner_failed "$rc" "$f" cargo && f=1
n=$(wc -l < "$cargo_skips")
add_counts "$((p - n))" "$f" "$((i + n))"
sed 's/^/cargo: /' "$cargo_skips" >> "$skips"
sed -n 's/^test \(.*\) \.\.\. ignored, \(.*\)$/cargo: \1 (ignored: \2)/p' "$log/cargo.txt" >> "$skips"
sed -n 's/^test \(.*\) \.\.\. FAILED$/cargo: \1: failed (log: test\/artifacts\/run-all\/cargo.txt)/p' "$log/cargo.txt" >> "$failures"

step "vitest (binding, services, contract, transports, renderer model)"
rm -f "$log/vitest.json"
npx vitest run --reporter=default --reporter=json --outputFile.json="$log/vitest.json" 2>&1 | tee "$log/vitest.txt"
rc=${PIPESTATUS[0]}
if [ -f "$log/vitest.json" ]; then read -r p f i < <(vitest_counts "$log/vitest.json" vitest); else p=0 f=0 i=0; fi
runner_failed "$rc" "$f" vitest && f=1
add_counts "$p" "$f" "$i"

step "pytest"
# No python3, or no tests collected (exit 5), is a failure too.
python3 -m pytest test/python -q -rsfE 2>&1 | tee "$log/pytest.txt"
rc=${PIPESTATUS[0]}
read -r p f i < <(tail -n 3 "$log/pytest.txt" | awk '{for (k=1;k<=NF;k++){ if ($(k)~/^passed/) p+=$(k-1); if ($(k)~/^failed/ || $(k)~/^error/) f+=$(k-1); if ($(k)~/^skipped/) i+=$(k-1)}} END {print p+0, f+0, i+0}')
runner_failed "$rc" "$f" pytest && f=1
add_counts "$p" "$f" "$i"
sed -n 's/^SKIPPED \(\[[0-9]*\]\) /pytest: \1 /p' "$log/pytest.txt" >> "$skips"
sed -n 's/^\(FAILED\|ERROR\) \(test\/\)/pytest: \2/p' "$log/pytest.txt" >> "$failures"

step "Playwright in Chromium against emberscope serve"
rm -f "$log/e2e.json"
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json="$log/e2e.json" 2>&1 | tee "$log/e2e.txt"
rc=${PIPESTATUS[0]}
if [ -f "$log/e2e.json" ]; then read -r p f i < <(vitest_counts "$log/e2e.json" e2e); else p=0 f=0 i=0; fi
runner_failed "$rc" "$f" e2e && f=1
add_counts "$p" "$f" "$i"

echo
echo "Screenshots and logs: test/artifacts/"
if [ -s "$skips" ]; then
  echo "Skipped, and why:"
  sed 's/^/  /' "$skips"
fi
# A skip must say why: one listed above for each counted (pytest groups N equal reasons as "[N]").
listed=$(awk '{ if ($1 == "pytest:" && $2 ~ /^\[[0-9]+\]$/) n += substr($2, 2, length($2) - 2); else n++ } END { print n + 0 }' "$skips")
if [ "$listed" -ne "$skipped" ]; then
  echo "$skipped skipped but $listed listed with a reason: give every skip its reason"
  echo "skips: $skipped skipped but $listed listed with a reason (see $skips)" >> "$failures"
  failed=$((failed + 1))
fi
if [ "$failed" -gt 0 ] || [ -s "$failures" ]; then
  echo "Failed:"
  sed 's/^/  /' "$failures"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
