-- count: → the bucket's session count, active and archived.
return redis.call('ZCARD', kp .. 'live') + redis.call('ZCARD', kp .. 'arch')
