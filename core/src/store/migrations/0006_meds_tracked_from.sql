-- meds: when Cairn started tracking a medication (ms since the epoch), set once when it is added.
-- Doses scheduled before it and never logged are "not tracked": neither missed nor due. Rows
-- written before this column existed keep it null and are tracked from their regimen's start.
ALTER TABLE medications ADD COLUMN tracked_from INTEGER;
