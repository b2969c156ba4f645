-- wrk script for the registration benchmark (bench/api_load.py), used for our API and the bare app.
-- Every request POSTs a new registration: the email is unique per run tag, thread and counter,
-- so the API never answers "already registered". done() prints one JSON line for Python.
--
--   wrk -t2 -c16 -d30s --latency -s bench/wrk_register.lua URL -- <run tag>

local threads = {}

function setup(thread)
  -- runs in wrk's main Lua state, once per thread, before the threads start
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  tag = args[1] or "run"
  counter = 0
  not_201 = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench","email":"%s-%d-%d@bench.example","sector":"citizen","privacy_consent":true}',
    tag, id, counter)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  -- wrk itself only counts status > 399; a 200 (duplicate) is not a new registration either.
  -- Our API answers an anonymous registration 202 (the same for everyone), the bare app 201.
  if status ~= 201 and status ~= 202 then
    not_201 = not_201 + 1
  end
end

function done(summary, latency, requests)
  local not_created = 0
  for _, thread in ipairs(threads) do
    not_created = not_created + thread:get("not_201")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,' ..
    '"max_ms":%.2f,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,"not_201":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.timeout, e.status, not_created))
end
