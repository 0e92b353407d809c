-- GET /s/<id>: the recipient's page (never consumes), round-robin over BENCH_IDS.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local requests, i = {}, 0
function init(args)
  for _, id in ipairs(my_lines(os.getenv("BENCH_IDS"))) do
    requests[#requests + 1] = wrk.format("GET", "/s/" .. id)
  end
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function response(status)
  tally(status, 200)
end
