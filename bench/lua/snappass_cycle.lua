-- The peer's cycle, snappass 1.6.2 form routes: POST / (password, ttl) answers a page with
-- the link; POST /<token> reveals and deletes (GET /<token> only previews). Two requests
-- per cycle, like OneTime's API cycle; "cycles" counts pages that show the secret.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local create = nil
local queue, head, tail = {}, 1, 0
function init(args)
  create = wrk.format("POST", "/", form, "password=correct+horse+battery+staple&ttl=hour")
end
function request()
  if head <= tail then
    local token = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/" .. token, form, "")
  end
  return create
end
function response(status, hdrs, body)
  if status ~= 200 then
    count_bad(status)
    return
  end
  local token = body:match('id="password%-link" value="https?://[^/"]+/([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
    ok = ok + 1
  elseif body:find("correct horse battery staple", 1, true) then
    cycles = cycles + 1
  else
    count_bad(status)
  end
end
