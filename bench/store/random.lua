-- wrk: GET a random chunk from the list in the file named by env CHUNK_LIST.
local paths = {}
for line in io.lines(os.getenv("CHUNK_LIST")) do paths[#paths + 1] = line end
math.randomseed(42)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
