-- /code through the webhook: POST /telegram/webhook/ with Telegram's secret header and a
-- private-chat update. Every request comes from a new user (BENCH_BASE + a counter), so
-- every request issues a new code: one user asking again would get the same code back.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local base, n = 0, 0
local headers = nil
function init(args)
  base = tonumber(os.getenv("BENCH_BASE"))
  headers = {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("BENCH_WEBHOOK_SECRET"),
  }
end
function request()
  local user = base + tid + nthreads * n
  n = n + 1
  local body = string.format(
    '{"update_id": %d, "message": {"message_id": 1, "date": 1700000000, '
      .. '"chat": {"id": %d, "type": "private"}, "from": {"id": %d, "is_bot": false, '
      .. '"first_name": "Bench", "username": "bench%d"}, "text": "/code"}}',
    n, user, user, user)
  return wrk.format("POST", "/telegram/webhook/", headers, body)
end
function response(status, hdrs, body)
  if status == 200 and body:find('"protect_content": true', 1, true) then
    ok = ok + 1
  else
    count_bad(status)
  end
end
