-- Profile data (/v1/me) is cached next to verified credentials; any change to a user or
-- an organization moves the auth epoch so that cached copies are dropped.

DROP TRIGGER user_auth_change;

CREATE TRIGGER user_change AFTER UPDATE ON users
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER organization_change AFTER UPDATE ON organizations
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;
