-- POST /api/v1/secrets: create a secret through the JSON API.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.path = "/api/v1/secrets"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"secret": "correct horse battery staple", "ttl": 3600}'
function response(status)
  tally(status, 201)
end
