-- 0003: the images page counts machines per image version; without this it scans every machine.
CREATE INDEX machines_image ON machines(image_id, image_version);
