-- wrk script for bench/scale.py: one request per line of a file, each line at most once.
--
--   wrk -t T -c C -d 5s -s bench/wrk_items.lua URL -- KIND ITEMS T [VERIFIER]
--
-- KIND is `claim` (a line is a holder's bearer token: POST /v1/ecards), `show` (a holder's token:
-- POST /v1/ecards/me/qrcodes) or `verify` (a line is a QR code: POST /v1/qrcodes/verify with the
-- relying party's token VERIFIER). Thread t takes lines
-- t, t+T, t+2T, …. The file must hold more lines than the run can send in its duration: a thread
-- that runs out sends `GET /health` instead and says so (`ran_out`), and the figures are void.
-- done() prints one JSON line: the requests answered 2xx and otherwise, and the latencies.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   kind, file, stride, verifier = args[1], args[2], tonumber(args[3]), args[4]
   items = {}
   local n = 0
   for line in io.lines(file) do
      if n % stride == id then
         table.insert(items, line)
      end
      n = n + 1
   end
   item_count = #items
   sent, ok, refused, ran_out, last_refusal = 0, 0, 0, 0, ""
end

function request()
   sent = sent + 1
   local item = items[sent]
   if item == nil then
      ran_out = 1
      return wrk.format("GET", "/health")
   end
   if kind == "claim" then
      return wrk.format("POST", "/v1/ecards", {["Authorization"] = "Bearer " .. item, ["Content-Length"] = "0"})
   elseif kind == "show" then
      return wrk.format("POST", "/v1/ecards/me/qrcodes",
                        {["Authorization"] = "Bearer " .. item, ["Content-Length"] = "0"})
   end
   return wrk.format("POST", "/v1/qrcodes/verify",
                     {["Authorization"] = "Bearer " .. verifier, ["Content-Type"] = "application/json"},
                     '{"code":"' .. item .. '"}')
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      refused = refused + 1
      last_refusal = status .. " " .. string.sub(body, 1, 300)
   end
end

function done(summary, latency, requests)
   local total_ok, total_refused, total_items, ran_out_threads, refusal = 0, 0, 0, 0, ""
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_refused = total_refused + thread:get("refused")
      total_items = total_items + thread:get("item_count")
      ran_out_threads = ran_out_threads + thread:get("ran_out")
      if thread:get("last_refusal") ~= "" then
         refusal = thread:get("last_refusal")
      end
   end
   io.write(refusal:gsub("\n", " "), "\n")
   io.write(string.format(
      '{"items": %d, "ok": %d, "refused": %d, "ran_out": %d, "seconds": %.4f, "p50_ms": %.2f, "p99_ms": %.2f}\n',
      total_items, total_ok, total_refused, ran_out_threads, summary.duration / 1e6,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
