-- Generator headroom: GET /healthz, the cheapest route (no database).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.path = "/healthz"
function response(status)
  tally(status, 200)
end
