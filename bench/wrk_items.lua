-- wrk script for bench/scale.py: one request per line of a file, each line once, then stop.
--
--   wrk -t T -c C -d 120s -s bench/wrk_items.lua URL -- KIND ITEMS T [VERIFIER] [OUT]
--
-- KIND is `claim` (a line is a holder's bearer token: POST /v1/ecards), `show` (a holder's token:
-- POST /v1/ecards/me/qrcodes; the codes are written to OUT.<thread>) or `verify` (a line is a QR
-- code: POST /v1/qrcodes/verify with the relying party's token VERIFIER). Thread t takes lines
-- t, t+T, t+2T, …; once its lines are all answered it stops, so the run ends when the work is done
-- (the -d duration is only a bound). done() prints one JSON line with the counts by status.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   kind, file, stride, verifier, out = args[1], args[2], tonumber(args[3]), args[4], args[5]
   items = {}
   local n = 0
   for line in io.lines(file) do
      if n % stride == id then
         table.insert(items, line)
      end
      n = n + 1
   end
   item_count = #items
   sent, answered, ok, refused = 0, 0, 0, 0
   if kind == "show" then
      codes = io.open(out .. "." .. id, "w")
   end
end

function request()
   sent = sent + 1
   local item = items[sent]
   if item == nil then
      -- Every line is in flight; the other connections ask the cheapest thing until they stop.
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
   answered = answered + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
      if codes ~= nil then
         local code = string.match(body, '"code"%s*:%s*"(EC1[A-Z2-7]+)"')
         if code ~= nil then
            codes:write(code, "\n")
         end
      end
   else
      refused = refused + 1
   end
   if answered >= #items then
      if codes ~= nil then
         codes:close()
         codes = nil
      end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local total_ok, total_refused, total_items = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_refused = total_refused + thread:get("refused")
      total_items = total_items + thread:get("item_count")
   end
   io.write(string.format(
      '{"items": %d, "ok": %d, "refused": %d, "seconds": %.4f, "p50_ms": %.2f, "p99_ms": %.2f}\n',
      total_items, total_ok, total_refused, summary.duration / 1e6,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
