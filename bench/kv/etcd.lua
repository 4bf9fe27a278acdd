-- etcd.lua - wrk script: keys k0..k999, 50% PUT of a 16-byte value and
-- 50% quorum GET, over etcd's v2 HTTP API (the workload of bench-kv).
local charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

local function value()
    local t = {}
    for i = 1, 16 do
        local k = math.random(1, #charset)
        t[i] = charset:sub(k, k)
    end
    return table.concat(t)
end

function init(args)
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
    local path = "/v2/keys/k" .. math.random(0, 999)
    if math.random(0, 1) == 0 then
        return wrk.format("GET", path .. "?quorum=true")
    end
    return wrk.format("PUT", path,
        {["Content-Type"] = "application/x-www-form-urlencoded"},
        "value=" .. value())
end

-- Count failed answers (a GET of a key never put is a 404, like our
-- service's empty reply: not a failure) so a misconfigured cluster is not
-- benchmarked; done() prints "errors N" for etcd.sh to check.
errors = 0
response = function(status, headers, body)
    if status >= 300 and status ~= 404 then
        errors = errors + 1
    end
end

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do
        n = n + t:get("errors")
    end
    io.write(string.format("errors %d\n", n))
end
