-- wrk script: a non-streaming chat completion with an API key.
-- KEY: the bearer key. MEAN_DELAY_MS (optional): mean pause between a
-- connection's requests, jittered uniformly in [0.5, 1.5) x mean, so a sweep
-- can run at a chosen rate (connections x 1000 / (latency + pause)).
wrk.method = "POST"
wrk.body = '{"model": "fable-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KEY") or "none")

local mean = tonumber(os.getenv("MEAN_DELAY_MS") or "0")

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

if mean > 0 then
  function delay()
    return math.floor(mean * (0.5 + math.random()))
  end
end
