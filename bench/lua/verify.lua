-- POST /api/v1/codes/verify with the bearer token: each pre-issued code once. User
-- BENCH_BASE + k holds code 1000000 + BENCH_CODE_OFFSET + k (k < BENCH_COUNT).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local base, offset, count, n = 0, 0, 0, 0
local headers = nil
function init(args)
  base = tonumber(os.getenv("BENCH_BASE"))
  offset = tonumber(os.getenv("BENCH_CODE_OFFSET"))
  count = tonumber(os.getenv("BENCH_COUNT"))
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_VERIFY_TOKEN"),
  }
end
function request()
  local k = tid + nthreads * n
  n = n + 1
  if k >= count then
    exhausted = 1
    wrk.thread:stop()
    k = tid
  end
  local body = string.format('{"telegram_user_id": %d, "code": "%d"}', base + k,
    1000000 + offset + k)
  return wrk.format("POST", "/api/v1/codes/verify", headers, body)
end
function response(status)
  tally(status, 200)
end
