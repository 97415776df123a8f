-- Fixes a bug of Prosody 0.12.3's mod_smacks (Debian 12's package).
--
-- On <resume/>, mod_smacks moves the new connection over to the hibernating
-- session, but leaves that session's data() handler in place: the one made
-- for the dead connection, holding the dead connection's WebSocket frame
-- buffer and XML parser. Every byte the client sends after the resumption
-- is then read through those. When the link was cut in the middle of a
-- frame (or, over TCP, of a stanza), the stale half is glued to the new
-- bytes: the stream is not well-formed, Prosody ends the session and
-- revokes its resumption token, and stanzas are lost.
--
-- After a successful resumption, read the new connection with the handler
-- made for it, whose parser and filters mod_smacks has just given to the
-- session.
module:hook("smacks-hibernation-end", function(event)
	if event.origin and event.resumed and event.origin.data then
		event.resumed.data = event.origin.data;
	end
end);
