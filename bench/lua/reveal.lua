-- POST /api/v1/secrets/<id>/reveal: each pre-created id (BENCH_IDS, one per line) once.
-- Running out of ids stops the thread and marks the run "exhausted" (its rate is then
-- too low, since wrk divides by the full duration): run.py sizes the pool to avoid that.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local requests, i = {}, 0
function init(args)
  local headers = { ["Content-Type"] = "application/json" }
  for _, id in ipairs(my_lines(os.getenv("BENCH_IDS"))) do
    requests[#requests + 1] =
      wrk.format("POST", "/api/v1/secrets/" .. id .. "/reveal", headers, "{}")
  end
end
function request()
  i = i + 1
  if i > #requests then
    exhausted = 1
    wrk.thread:stop()
    i = #requests
  end
  return requests[i]
end
function response(status)
  tally(status, 200)
end
