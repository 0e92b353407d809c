-- The full cycle: create (POST /api/v1/secrets), read the id from the JSON answer, reveal
-- it (POST /api/v1/secrets/<id>/reveal). A thread reveals a created id as soon as one of
-- its connections is free, else creates; "cycles" counts successful reveals.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local headers = { ["Content-Type"] = "application/json" }
local create = nil
local queue, head, tail = {}, 1, 0
function init(args)
  create = wrk.format("POST", "/api/v1/secrets", headers,
    '{"secret": "correct horse battery staple", "ttl": 3600}')
end
function request()
  if head <= tail then
    local id = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/api/v1/secrets/" .. id .. "/reveal", headers, "{}")
  end
  return create
end
function response(status, hdrs, body)
  if status == 201 then
    local id = body:match('"id"%s*:%s*"([%x%-]+)"')
    if id then
      tail = tail + 1
      queue[tail] = id
      ok = ok + 1
    else
      count_bad(status)
    end
  elseif status == 200 and body:find("correct horse battery staple", 1, true) then
    cycles = cycles + 1
  else
    count_bad(status)
  end
end
