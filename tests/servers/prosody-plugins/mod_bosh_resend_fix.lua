-- Fixes a gap in Prosody 0.12.3's mod_bosh (Debian 12's package).
--
-- XEP-0124 §14.3: a request sent again with a rid the server has passed
-- gets the response it had (mod_bosh keeps the last two). But a request
-- whose connection went away before any response was sent has none, and
-- mod_bosh then ends the session (item-not-found). That happens when a
-- link is cut under a held long-poll while the next request still gets
-- through: the client, which cannot tell, rightly sends the held one again
-- first. Whatever would have answered that request is still in the
-- session's send buffer and went out on the later one, so the true
-- response is an empty body: give that.
local xmlns_bosh = "http://jabber.org/protocol/httpbind";
local empty = "<body xmlns='" .. xmlns_bosh .. "' xmlns:stream='http://etherx.jabber.org/streams'/>";

-- mod_bosh is a global module: its events fire on the global bus.
module:hook_global("bosh-session", function(event)
	local session = event.session;
	local responses = session.bosh_responses;
	if not responses then return end
	session.bosh_responses = setmetatable({}, {
		__index = function(_, rid)
			local response = responses[rid];
			if response == nil and session.rid and rid == session.rid - 1 then
				session.log("debug", "rid %d was never answered; answering it empty", rid);
				return empty;
			end
			return response;
		end;
		__newindex = function(_, rid, response)
			responses[rid] = response;
		end;
	});
end);
