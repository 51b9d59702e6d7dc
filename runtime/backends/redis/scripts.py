"""The Lua scripts of the Redis backend: every multi-key change is one script, so it is atomic
across processes; and how arguments are written for them."""

from __future__ import annotations

import json
from collections.abc import Sequence

from runtime.backends.base import Retry

# The claim every consumer step and every hand-over makes, as a Lua function over KEYS vis, meta,
# body: up to `limit` messages visible at `now`, each leased until `lease`; returns a flat list
# id, body, meta-json per message.
_CLAIM_FN = """
local function claim(now, lease, limit)
  local out = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
    local meta = cjson.decode(redis.call('HGET', KEYS[2], id))
    meta['attempts'] = meta['attempts'] + 1
    meta['claimed'] = 1
    local encoded = cjson.encode(meta)
    redis.call('HSET', KEYS[2], id, encoded)
    redis.call('ZADD', KEYS[1], lease, id)
    table.insert(out, id)
    table.insert(out, redis.call('HGET', KEYS[3], id))
    table.insert(out, encoded)
  end
  return out
end
"""

# Handing messages to idle consumers. A consumer loop that claims nothing joins its queue's idle
# set (in the claim script itself, so no send can slip between the empty claim and the joining):
# a sorted set of "<process token> <visibility timeout> <loop>" scored by how many messages the
# loop takes at once; a loop that claims something leaves it. A send then pops idle loops and
# claims the ready messages for them, up to each one's limit, leased for its visibility timeout,
# and publishes them on that loop's process's own channel ("wake:<token>"): the loop starts on
# them without a claim of its own. Delayed messages only wake one idle loop, to re-arm its timer.
# A loop whose process is gone has no subscriber and is dropped without being handed anything.
# So busy consumers cost a send nothing, and of many idle processes only as many wake as there
# are messages for. A payload is netstrings: queue, member, then id, body, meta per message.
#
# KEYS: vis, meta, body, the set of queue names, the queue's idle set; ARGV: queue, key prefix,
# now, then per message id, body, meta (JSON), visible_at. One command instead of a MULTI of five
# per message: the client builds and parses one reply, which is what bounds a producer sending
# one at a time.
SEND = (
    _CLAIM_FN
    + """
local now = tonumber(ARGV[3])
local ready = 0
for i = 4, #ARGV, 4 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
  redis.call('ZADD', KEYS[1], ARGV[i + 3], ARGV[i])
  if tonumber(ARGV[i + 3]) <= now then ready = ready + 1 end
end
redis.call('SADD', KEYS[4], ARGV[1])
local function net(s) return #s .. ':' .. s end
local woken = false
while ready > 0 or not woken do
  local popped = redis.call('ZPOPMIN', KEYS[5])
  if #popped == 0 then break end
  local member, limit = popped[1], tonumber(popped[2])
  local token, visibility = string.match(member, '^(%S+) (%S+) ')
  local channel = ARGV[2] .. 'wake:' .. token
  if redis.call('PUBSUB', 'NUMSUB', channel)[2] > 0 then
    local parts = {net(ARGV[1]), net(member)}
    if ready > 0 then
      local claimed = claim(now, now + tonumber(visibility), limit)
      for _, field in ipairs(claimed) do table.insert(parts, net(field)) end
      ready = ready - #claimed / 3
    end
    redis.call('PUBLISH', channel, table.concat(parts))
    woken = true
  end
end
return 0
"""
)

# A consumer's settle, over KEYS vis, meta, body: acks deleted, retries made visible again.
_SETTLE_LUA = """
for _, id in ipairs(cjson.decode(ARGV[1])) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
for _, r in ipairs(cjson.decode(ARGV[2])) do
  local raw = redis.call('HGET', KEYS[2], r[1])
  if raw then
    local meta = cjson.decode(raw)
    meta['claimed'] = 0
    meta['last_error'] = r[3]
    redis.call('HSET', KEYS[2], r[1], cjson.encode(meta))
    redis.call('ZADD', KEYS[1], r[2], r[1])
  end
end
"""

# ARGV: now, lease, limit. Returns [id, body, meta-json, ...].
CLAIM = _CLAIM_FN + "return claim(ARGV[1], ARGV[2], tonumber(ARGV[3]))\n"
# ARGV: acks-json, retries-json ([[id, visible_at, error], ...]).
SETTLE = _SETTLE_LUA + "return 1\n"
# KEYS: vis, meta, body, idle set. ARGV: acks-json, retries-json, now, lease, limit, idle member
# (or ''): SETTLE, then CLAIM, in one step; the member joins the idle set (with its limit) when
# nothing was claimed, and leaves it when something was. Claiming nothing returns
# {earliest visible_at}, or {} when the queue is empty.
SETTLE_CLAIM = (
    _CLAIM_FN
    + _SETTLE_LUA
    + """
local out = claim(ARGV[3], ARGV[4], tonumber(ARGV[5]))
if ARGV[6] ~= '' then
  if #out == 0 then redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6]) else redis.call('ZREM', KEYS[4], ARGV[6]) end
end
if #out == 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {first[2]}
end
return out
"""
)

# KEYS: owner key, epoch key. ARGV: owner, lease ms. Take or extend the lease unless another
# owner holds it; returns its epoch (INCR'd when taken anew; the epoch key never expires), or 0.
OWN_ACTOR = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if held then
  local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
  if epoch > 0 then return epoch end
end
return redis.call('INCR', KEYS[2])
"""

# The fence every write of an actor call passes, checked in the script that writes (atomic with
# it): KEYS[1] owner key, KEYS[2] epoch key; ARGV[1] owner ('' for no fence), ARGV[2] epoch.
# A script returns -1, having written nothing, when the lease is no longer that one.
_FENCE = """
if ARGV[1] ~= '' and (redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2]) then
  return -1
end
"""

# KEYS: fence keys, actor hash. ARGV: fence, then field, value, ...
STATE_PUT = (
    _FENCE
    + """
if #ARGV > 2 then redis.call('HSET', KEYS[3], unpack(ARGV, 3)) end
return 0
"""
)

# KEYS: fence keys, actor hash. ARGV: fence, then fields. Returns how many existed.
STATE_DELETE = (
    _FENCE
    + """
if #ARGV > 2 then return redis.call('HDEL', KEYS[3], unpack(ARGV, 3)) end
return 0
"""
)

# KEYS: fence keys, actor hash, alarms zset, alarm info hash. ARGV: fence, alarm member.
STATE_DELETE_ALL = (
    _FENCE
    + """
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[3])
return 0
"""
)

# KEYS: fence keys, alarms zset, alarm info hash. ARGV: fence, member, info json, at, events channel.
SET_ALARM = (
    _FENCE
    + """
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
redis.call('PUBLISH', ARGV[6], '$alarms')
return 0
"""
)

# KEYS: fence keys, alarms zset, alarm info hash. ARGV: fence, member.
DELETE_ALARM = (
    _FENCE
    + """
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
return 0
"""
)

# KEYS: owner key. ARGV: owner. End the lease if it is still this owner's.
DISOWN_ACTOR = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: vis, meta, body, dead-vis, dead-meta, dead-body. ARGV: origin, dead-queue, [[id, error], ...].
DEAD_LETTER = """
for _, d in ipairs(cjson.decode(ARGV[3])) do
  local raw = redis.call('HGET', KEYS[2], d[1])
  if raw then
    local meta = cjson.decode(raw)
    local body = redis.call('HGET', KEYS[3], d[1])
    meta['claimed'] = 0
    meta['failed_attempts'] = meta['attempts']
    meta['attempts'] = 0
    meta['last_error'] = d[2]
    meta['origin'] = ARGV[1]
    redis.call('ZREM', KEYS[1], d[1])
    redis.call('HDEL', KEYS[2], d[1])
    redis.call('HDEL', KEYS[3], d[1])
    redis.call('HSET', KEYS[5], d[1], cjson.encode(meta))
    redis.call('HSET', KEYS[6], d[1], body)
    redis.call('ZADD', KEYS[4], meta['created_at'], d[1])
  end
end
return 1
"""

# KEYS: vis, meta. ARGV: ids-json, score, mode ('extend' keeps attempts; 'release' undoes one).
MOVE_CLAIMED = """
for _, id in ipairs(cjson.decode(ARGV[1])) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local meta = cjson.decode(raw)
    if meta['claimed'] == 1 then
      if ARGV[3] == 'release' then
        meta['claimed'] = 0
        meta['attempts'] = math.max(meta['attempts'] - 1, 0)
        redis.call('HSET', KEYS[2], id, cjson.encode(meta))
      end
      redis.call('ZADD', KEYS[1], ARGV[2], id)
    end
  end
end
return 1
"""

# KEYS: dead vis, meta, body, queues-set. ARGV: now, to_queue ('' = each message's origin), prefix.
REDRIVE = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local moved = 0
for _, id in ipairs(ids) do
  local meta = cjson.decode(redis.call('HGET', KEYS[2], id))
  local target = ARGV[2]
  if target == '' and meta['origin'] then target = meta['origin'] end
  if target ~= '' and target ~= cjson.null then
    local body = redis.call('HGET', KEYS[3], id)
    meta['origin'] = nil
    meta['last_error'] = nil
    meta['failed_attempts'] = nil
    meta['attempts'] = 0
    meta['claimed'] = 0
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    local p = ARGV[3] .. 'q:' .. target
    redis.call('HSET', p .. ':meta', id, cjson.encode(meta))
    redis.call('HSET', p .. ':body', id, body)
    redis.call('ZADD', p .. ':vis', ARGV[1], id)
    redis.call('SADD', KEYS[4], target)
    moved = moved + 1
  end
end
return moved
"""

# KEYS: vis, meta. ARGV: now. Returns {ready, in_flight, delayed}.
STATS = """
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local in_flight = 0
for _, id in ipairs(later) do
  local meta = cjson.decode(redis.call('HGET', KEYS[2], id))
  if meta['claimed'] == 1 then in_flight = in_flight + 1 end
end
return {ready, in_flight, #later - in_flight}
"""

# KEYS: alarms zset, alarm info hash. ARGV: now, lease, limit.
CLAIM_ALARMS = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(members) do
  local info = cjson.decode(redis.call('HGET', KEYS[2], member))
  if (info['leased_until'] or 0) <= tonumber(ARGV[1]) then
    info['leased_until'] = tonumber(ARGV[2])
    redis.call('HSET', KEYS[2], member, cjson.encode(info))
    table.insert(out, member)
    table.insert(out, cjson.encode(info))
  end
end
return out
"""

# KEYS: alarms zset, alarm info hash. ARGV: member, at (the claimed time), retry_at or ''.
FINISH_ALARM = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
local info = cjson.decode(raw)
if math.abs(info['at'] - tonumber(ARGV[2])) > 0.001 then return 0 end  -- re-set during its run
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  info['at'] = tonumber(ARGV[3])
  info['retries'] = info['retries'] + 1
  info['leased_until'] = 0
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(info))
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""

# KEYS: last-fire key, fire key. ARGV: scheduled_at, now, ttl seconds.
CLAIM_FIRE = """
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', tonumber(ARGV[3])) then
  local last = redis.call('GET', KEYS[1])
  if (not last) or tonumber(last) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
  return 1
end
return 0
"""

# Many fires in one call: KEYS are each claim's (last, fire) key pair, ARGV[1] now, ARGV[2] the
# fire keys' TTL, then each claim's scheduled time. Returns 1 or 0 per claim, in order.
CLAIM_FIRES = """
local won = {}
for i = 3, #ARGV do
  local last_key, fire_key = KEYS[2 * (i - 2) - 1], KEYS[2 * (i - 2)]
  if redis.call('SET', fire_key, ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then
    local last = redis.call('GET', last_key)
    if (not last) or tonumber(last) < tonumber(ARGV[i]) then redis.call('SET', last_key, ARGV[i]) end
    won[#won + 1] = 1
  else
    won[#won + 1] = 0
  end
end
return won
"""


def number(value: float) -> str:
    """A float as a script reads it back exactly."""
    return repr(float(value))


def settle_args(acks: Sequence[str], retries: Sequence[Retry]) -> list[str]:
    return [json.dumps(list(acks)), json.dumps([[r.id, r.visible_at, r.error] for r in retries])]
