-- append: an update that only appends, with no revision expected: id, known, now, defaultIdle,
-- maxContext, trim, then a count and that many (id, role letter, json) → as update. Four arguments
-- fewer for the common append.
return update(false)
