-- 011: an alert carries the diagnosis that ran when it fired (smartalk ops diagnose, run by
-- the platform for ServiceDown, DatabaseDown, HighErrorRate and ActivationRateDrop), so its
-- notifications, `alerts show` and the console show the findings with the page.
ALTER TABLE alerts ADD COLUMN diagnosis jsonb;
