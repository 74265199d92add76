-- A `wrk` script for a soak of `w2vcache serve`: a mix of every kind of request, drawn at random so that nothing
-- repeats for long (unknown words, fresh seeds), to watch the server's memory over many rounds (docs/benchmarks.md,
-- "A soak"). Needs a cache with the pos, parser and sentiment datasets prepared and a file of its words, one a line:
--
--   wrk -t1 -c16 -d30s -s scripts/bench/soak.lua http://127.0.0.1:PORT -- words.txt
--
-- Of the requests: 35% one vector (a fifth of them unknown: 404), 15% 50 words with one unknown half the time
-- (`missing: oov`), 10% nearest words, 25% a batch of a shuffled epoch (random seed, epoch and size; some past the end:
-- 404), and 5% each `/v1/info`, `/metrics` and an unknown route.
local words = {}
local splits = { { "pos", "train" }, { "parser", "train" }, { "sentiment", "train" }, { "pos", "test" }, { "parser", "test" } }
local sizes = { 16, 32, 64, 128, 1000 }
local json = { ["Content-Type"] = "application/json" }

function init(args)
  for line in io.lines(args[1]) do
    if line:match("^[%w_]+$") then words[#words + 1] = line end
  end
  assert(#words > 0, "no plain words in " .. tostring(args[1]))
end

local function word() return words[math.random(#words)] end

function request()
  local r = math.random()
  if r < 0.35 then
    local w = math.random() < 0.2 and ("zz" .. math.random(1, 1000000000) .. "q") or word()
    return wrk.format("GET", "/v1/vectors/" .. w)
  elseif r < 0.5 then
    local list = {}
    for i = 1, 50 do list[i] = '"' .. word() .. '"' end
    if math.random() < 0.5 then list[#list + 1] = '"nope' .. math.random(1, 1000000000) .. '"' end
    return wrk.format("POST", "/v1/vectors", json, '{"words": [' .. table.concat(list, ",") .. '], "missing": "oov"}')
  elseif r < 0.6 then
    return wrk.format("POST", "/v1/similar", json, '{"positive": ["' .. word() .. '"], "top": 10}')
  elseif r < 0.85 then
    local split = splits[math.random(#splits)]
    return wrk.format("GET", "/v1/datasets/" .. split[1] .. "/" .. split[2] .. "/batches/" .. math.random(0, 2)
      .. "?batch_size=" .. sizes[math.random(#sizes)] .. "&seed=" .. math.random(1, 1000000000)
      .. "&epoch=" .. math.random(0, 9) .. "&shuffle=true")
  elseif r < 0.9 then
    return wrk.format("GET", "/v1/info")
  elseif r < 0.95 then
    return wrk.format("GET", "/metrics")
  else
    return wrk.format("GET", "/v1/nothing/" .. math.random(1, 1000000))
  end
end
