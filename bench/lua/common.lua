-- Shared by every bench script (loaded with dofile): numbers the threads, sums the
-- per-thread counters and prints one machine-readable summary line for bench/run.py.
-- Settings come from the environment: BENCH_THREADS (wrk -t), plus what each script reads.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- Per-thread counters (globals, so that done() can read them with thread:get). "limited"
-- counts the 429s among the bad answers: a rate limit that refuses must show in the table.
ok, bad, limited, cycles, exhausted = 0, 0, 0, 0, 0

nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

function done(summary, latency, requests)
  local sum = { ok = 0, bad = 0, limited = 0, cycles = 0, exhausted = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(sum) do
      sum[k] = sum[k] + (t:get(k) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "err_connect": %d, '
      .. '"err_read": %d, "err_write": %d, "err_status": %d, "err_timeout": %d, '
      .. '"lat_mean_us": %.1f, "lat_p50_us": %d, "lat_p90_us": %d, "lat_p99_us": %d, '
      .. '"lat_max_us": %d, "ok": %d, "bad": %d, "limited": %d, "cycles": %d, '
      .. '"exhausted": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, sum.ok, sum.bad, sum.limited, sum.cycles,
    sum.exhausted))
end

-- Read this thread's share of the lines of a file (line k goes to thread k mod nthreads).
function my_lines(path)
  local mine, k = {}, 0
  for line in io.lines(path) do
    if k % nthreads == tid then
      mine[#mine + 1] = line
    end
    k = k + 1
  end
  return mine
end

-- An answer that is not the expected one (a 429 is counted as such, and also apart).
function count_bad(status)
  bad = bad + 1
  if status == 429 then
    limited = limited + 1
  end
end

function tally(status, expected)
  if status == expected then
    ok = ok + 1
  else
    count_bad(status)
  end
end
