-- wrk script: each request carries the next cookie of a file, in turn, cycled, and every
-- response is checked to have found its session (benchmarks/http_traffic.py).
--
--   wrk -t1 -c50 -d2s -s benchmarks/rotate_cookies.lua http://127.0.0.1:PORT/read -- FILE EXPECT
--
-- FILE holds one Cookie header value a line. EXPECT is "read" (the body is the views
-- seen: a number, at least 1), "write" (at least 2: a write that missed its session
-- starts again at 1) or "bare" (the body is "ok"). done() prints "Session misses: N"
-- and "Cookies rotated: N".

local prepared = {}
local position = 0
local expect = "bare"
local threads = {}
cookies = 0 -- globals: done() reads them from each thread
misses = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file, kind = args[1], args[2]
  if file == nil or (kind ~= "read" and kind ~= "write" and kind ~= "bare") then
    error("usage: -s rotate_cookies.lua URL -- COOKIE_FILE read|write|bare")
  end
  expect = kind
  for line in io.lines(file) do
    if line ~= "" then
      cookies = cookies + 1
      -- Built once: wrk then only hands out prepared requests.
      prepared[cookies] = wrk.format(nil, nil, { ["Cookie"] = line })
    end
  end
  if cookies == 0 then
    error("no cookies in " .. file)
  end
end

function request()
  position = position % cookies + 1
  return prepared[position]
end

function response(status, headers, body)
  if status ~= 200 then
    misses = misses + 1
  elseif expect == "bare" then
    if body ~= "ok" then
      misses = misses + 1
    end
  else
    local views = tonumber(body)
    local least = 1
    if expect == "write" then
      least = 2
    end
    if views == nil or views < least then
      misses = misses + 1
    end
  end
end

function done(summary, latency, requests)
  local missed, rotated = 0, 0
  for _, thread in ipairs(threads) do
    missed = missed + thread:get("misses")
    rotated = math.max(rotated, thread:get("cookies"))
  end
  io.write(string.format("Session misses: %d\n", missed))
  io.write(string.format("Cookies rotated: %d\n", rotated))
end
