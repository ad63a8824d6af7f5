-- Shared by the wrk scripts of scripts/bench: each thread takes every Nth line of the file
-- in BENCH_LINES (a thread never reuses a line: when its share runs out it stops and says
-- so), counts responses by status, and times its own first request and last response with
-- CLOCK_MONOTONIC, so a run that stops early still gives a true rate. done() prints one
-- line: BENCH {"responses": N, "statuses": {...}, "seconds": S, "exhausted": K}.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local now_buffer = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, now_buffer) -- CLOCK_MONOTONIC
  return tonumber(now_buffer.tv_sec) + tonumber(now_buffer.tv_nsec) / 1e9
end

local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

lines = {}
next_line = 1
first_request = 0
last_response = 0
responses = 0
statuses = ""
exhausted = 0
local counts = {}

-- Reads this thread's share of BENCH_LINES; each line is split on spaces into fields.
function init(args)
  local index, count = 0, tonumber(os.getenv("BENCH_THREADS"))
  for line in io.lines(os.getenv("BENCH_LINES")) do
    if index % count == thread_index then
      local fields = {}
      for field in line:gmatch("%S+") do table.insert(fields, field) end
      table.insert(lines, fields)
    end
    index = index + 1
  end
end

-- The fields of this thread's next line, or nil (and the thread stops) when none is left.
function take_line()
  if first_request == 0 then first_request = now() end
  local fields = lines[next_line]
  if fields == nil then
    exhausted = 1
    wrk.thread:stop()
    return nil
  end
  next_line = next_line + 1
  return fields
end

function response(status, headers, body)
  if exhausted == 1 then return end
  last_response = now()
  responses = responses + 1
  counts[status] = (counts[status] or 0) + 1
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, '"' .. code .. '": ' .. n) end
  statuses = table.concat(parts, ", ")
end

function done(summary, latency, requests)
  local total, first, last, stopped = 0, math.huge, 0, 0
  local merged = {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("responses")
    local started = thread:get("first_request")
    if started > 0 and started < first then first = started end
    local ended = thread:get("last_response")
    if ended > last then last = ended end
    stopped = stopped + thread:get("exhausted")
    for code, n in string.gmatch(thread:get("statuses"), '"(%d+)": (%d+)') do
      merged[code] = (merged[code] or 0) + tonumber(n)
    end
  end
  local parts = {}
  for code, n in pairs(merged) do table.insert(parts, '"' .. code .. '": ' .. n) end
  local seconds = (last > first) and (last - first) or 0
  io.write(string.format('BENCH {"responses": %d, "statuses": {%s}, "seconds": %.4f, "exhausted": %d, "p99_ms": %.3f}\n',
    total, table.concat(parts, ", "), seconds, stopped, latency:percentile(99) / 1000))
end
