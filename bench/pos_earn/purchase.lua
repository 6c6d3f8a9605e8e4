-- wrk script for bench/pos_earn.py: every request is a new purchase by a random loaded member.
-- Arguments (after `--`): members, api_key, occurred_at, run_tag.
-- Card numbers are derivable: member i (1..members) has card "8" .. zero-padded i (16 digits).
-- Each thread counts 2xx/3xx/4xx/5xx itself; done() adds them up and prints one JSON line.

local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  members = tonumber(args[1])
  auth = "Api-Key " .. args[2]
  occurred_at = args[3]
  tag = args[4]
  math.randomseed(os.time() + tid * 7919)
  seq = 0
  s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0
end

local BODY = '{"member":"%s","receipt_id":"B-%s","channel":"store","occurred_at":"%s",'
  .. '"currency":"CNY","total":"100.00","items":['
  .. '{"sku":"LATTE","category":"coffee","quantity":2,"unit_price":"25.00"},'
  .. '{"sku":"BEANS","category":"beans","quantity":1,"unit_price":"50.00"}]}'

function request()
  seq = seq + 1
  local ref = string.format("%s-%d-%d", tag, tid, seq)
  local card = string.format("8%015d", math.random(1, members))
  local headers = {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-" .. ref,
  }
  return wrk.format("POST", "/api/v1/purchases/", headers, string.format(BODY, card, ref, occurred_at))
end

function response(status, headers, body)
  if status >= 500 then
    s5xx = s5xx + 1
  elseif status >= 400 then
    s4xx = s4xx + 1
  elseif status >= 300 then
    s3xx = s3xx + 1
  else
    s2xx = s2xx + 1
  end
end

function done(summary, latency, requests)
  local c2, c3, c4, c5 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c2 = c2 + t:get("s2xx")
    c3 = c3 + t:get("s3xx")
    c4 = c4 + t:get("s4xx")
    c5 = c5 + t:get("s5xx")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"mean_us":%.1f,"s2xx":%d,"s3xx":%d,"s4xx":%d,"s5xx":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, c2, c3, c4, c5,
    e.connect, e.read, e.write, e.timeout))
end
