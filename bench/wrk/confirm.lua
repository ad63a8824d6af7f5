-- P2: POST /v1/links/{token}/confirm, one distinct token (a line of BENCH_LINES) per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
  local fields = take_line()
  if fields == nil then return wrk.format("GET", "/healthz") end
  return wrk.format("POST", "/v1/links/" .. fields[1] .. "/confirm")
end
