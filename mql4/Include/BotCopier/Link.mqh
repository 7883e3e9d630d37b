//+------------------------------------------------------------------+
//| Link.mqh - the EA's connection to the BotCopier bridge.          |
//|                                                                  |
//| Shared by the Observer and the generated strategy EAs: frames    |
//| are spooled first (Spool.mqh) and sent from the spool; after     |
//| each (re)connect the EA says hello, drops what welcome.acked_seq |
//| covers and replays the rest in seq order; cumulative acks empty  |
//| the spool. Reconnects back off exponentially (100 ms doubling to |
//| 5 s, with jitter); a ping goes out when nothing was sent for     |
//| heartbeat_s. Call LinkConfigure once, LinkStartup in OnInit,     |
//| then ServiceBridge on the timer. The token is never printed.     |
//|                                                                  |
//| Needs Frames.mqh, Socket.mqh and Spool.mqh included first.       |
//+------------------------------------------------------------------+
#property strict

#define BC_PROTOCOL          1
#define BC_SCHEMA_VERSION    1
#define BC_HELLO_TIMEOUT_MS  10000
#define BC_BACKOFF_START_MS  100
#define BC_BACKOFF_MAX_MS    5000
#define BC_MAX_IN_FLIGHT     2000
#define BC_BATCH_BYTES       262144
#define BC_SEND_WAIT_MS      20

enum BcLinkState { BC_LINK_DOWN, BC_LINK_CONNECTING, BC_LINK_HELLO, BC_LINK_LIVE };

string      g_linkHost = "127.0.0.1";
int         g_linkPort = 5555;
string      g_linkToken = "";
int         g_linkConnectTimeoutMs = 2000;
bool        g_dllOk = false;
bool        g_linkStopped = false;   // refused for good (e.g. bad token): no retry until reload
bool        g_downLogged = false;
long        g_account = 0;
string      g_eaId = "";
BcLinkState g_linkState = BC_LINK_DOWN;
long        g_backoffMs = BC_BACKOFF_START_MS;
long        g_nextAttemptMs = 0;
long        g_deadlineMs = 0;
long        g_lastSendMs = 0;
long        g_lastRecvMs = 0;
long        g_heartbeatS = 15;
int         g_socketErrors = 0;

//--- Where and as whom to connect; resets the link (MT4 keeps globals across an input change).
void LinkConfigure(string host, int port, string token, int connectTimeoutMs)
{
   g_linkHost = host;
   g_linkPort = port;
   g_linkToken = token;
   g_linkConnectTimeoutMs = connectTimeoutMs;
   g_linkState = BC_LINK_DOWN;
   g_linkStopped = false;
   g_downLogged = false;
   g_backoffMs = BC_BACKOFF_START_MS;
   g_nextAttemptMs = 0;
}

//--- Starts WinSock when DLL imports are allowed; false means frames are spooled only.
bool LinkStartup()
{
   g_dllOk = TerminalInfoInteger(TERMINAL_DLLS_ALLOWED) != 0 && MQLInfoInteger(MQL_DLLS_ALLOWED) != 0;
   if(!g_dllOk)
      Print("BotCopier: DLL imports are not allowed; events are spooled but not sent until they are");
   else if(!SockStartup()) {
      Print("BotCopier: WSAStartup failed (", g_sockLastError, "); events are spooled only");
      g_dllOk = false;
   }
   return g_dllOk;
}

bool BcValidEaId(string s)
{
   int n = StringLen(s);
   if(n < 1 || n > 64) return false;
   for(int i = 0; i < n; i++) {
      ushort c = StringGetCharacter(s, i);
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '_' || c == ':' || c == '-';
      if(!ok) return false;
   }
   return true;
}

string BcEventId(long seq)
{
   return IntegerToString(g_account) + "-" + g_eaId + "-" + IntegerToString(seq);
}

//+------------------------------------------------------------------+
//| Bridge link                                                      |
//+------------------------------------------------------------------+
void LinkFailed(string reason)
{
   bool wasLive = (g_linkState == BC_LINK_LIVE);
   SockClose();
   g_socketErrors++;
   long delay = (long)(g_backoffMs * (0.5 + MathRand() / 32767.0));
   g_nextAttemptMs = SockNowMs() + delay;
   string msg = "BotCopier: bridge link down: " + reason + "; retry in " + IntegerToString(delay) + " ms";
   // One line per outage, not one per retry.
   if(wasLive || !g_downLogged) Print(msg);
   else BcDebug(msg);
   g_downLogged = true;
   g_backoffMs *= 2;
   if(g_backoffMs > BC_BACKOFF_MAX_MS) g_backoffMs = BC_BACKOFF_MAX_MS;
   g_linkState = BC_LINK_DOWN;
}

void SendHello(long now)
{
   long resumeFrom = SpoolPrepareSession();
   SockQueueText(BuildHelloFrame(BC_PROTOCOL, g_eaId, g_account, g_linkToken, BC_SCHEMA_VERSION, resumeFrom) + "\n");
   if(SockPump(BC_SEND_WAIT_MS) < 0) {
      LinkFailed("hello could not be sent (WSA " + IntegerToString(g_sockLastError) + ")");
      return;
   }
   g_linkState = BC_LINK_HELLO;
   g_deadlineMs = now + BC_HELLO_TIMEOUT_MS;
   g_lastSendMs = now;
   g_lastRecvMs = now;
   BcDebug("hello sent: ea_id=" + g_eaId + " resume_from=" + IntegerToString(resumeFrom));
}

void HandleReply(string line)
{
   g_lastRecvMs = SockNowMs();
   string type = ReplyString(line, "type", "");
   if(type == "welcome" && g_linkState == BC_LINK_HELLO) {
      long acked = ReplyLong(line, "acked_seq", 0);
      g_heartbeatS = ReplyLong(line, "heartbeat_s", 15);
      if(g_heartbeatS < 1) g_heartbeatS = 15;
      SpoolOnWelcome(acked);
      g_linkState = BC_LINK_LIVE;
      g_backoffMs = BC_BACKOFF_START_MS;
      g_downLogged = false;
      Print("BotCopier: connected to bridge ", g_linkHost, ":", g_linkPort, ", acked_seq=", acked,
            ", to resend=", SpoolUnacked());
   } else if(type == "ack" && g_linkState == BC_LINK_LIVE) {
      long seq = ReplyLong(line, "seq", 0);
      if(seq > 0) SpoolOnAck(seq);
   } else if(type == "error") {
      string code = ReplyString(line, "code", "?");
      bool fatal = ReplyBool(line, "fatal", false);
      long seq = ReplyLong(line, "seq", 0);
      Print("BotCopier: bridge error ", code, (seq > 0 ? " seq=" + IntegerToString(seq) : ""), ": ",
            ReplyString(line, "reason", ""), (fatal ? " (fatal)" : ""));
      if(!fatal) return;
      // Refusals of the hello itself cannot be cured by retrying; the bridge says why.
      bool permanent = g_linkState == BC_LINK_HELLO
                       && (code == "unauthorized" || code == "unsupported_protocol"
                           || code == "unknown_schema_version" || code == "invalid_hello");
      LinkFailed("fatal error " + code);
      if(permanent) {
         g_linkStopped = true;
         Print("BotCopier: the bridge refused this EA (", code, "); fix EaId/BridgeToken and reload. ",
               "Events keep being spooled meanwhile.");
      }
   } else if(type == "pong") {
      BcDebug("pong");
   }
}

void PumpLive(long now)
{
   int pending = SockPump(BC_SEND_WAIT_MS);
   if(pending < 0) {
      LinkFailed("send failed (WSA " + IntegerToString(g_sockLastError) + ")");
      return;
   }
   if(pending < BC_SPOOL_READ_SLACK) {
      uchar batch[];
      int n = SpoolTakeBatch(batch, BC_BATCH_BYTES, BC_MAX_IN_FLIGHT);
      if(n > 0) {
         SockQueueBytes(batch, 0, n);
         g_lastSendMs = now;
         if(SockPump(BC_SEND_WAIT_MS) < 0) {
            LinkFailed("send failed (WSA " + IntegerToString(g_sockLastError) + ")");
            return;
         }
      }
   }
   // The bridge closes a connection silent for 3 heartbeats; a quiet market is no fault.
   if(now - g_lastSendMs >= g_heartbeatS * 1000) {
      SockQueueText(BuildPingFrame(BcNowUtcMs()) + "\n");
      g_lastSendMs = now;
      if(SockPump(0) < 0) {
         LinkFailed("ping failed");
         return;
      }
   }
   // Nothing heard (not even a pong) for 4 heartbeats: the peer is gone without a reset.
   if(now - g_lastRecvMs > g_heartbeatS * 4000) LinkFailed("bridge silent");
}

void ServiceBridge()
{
   if(!g_dllOk || g_linkStopped) return;
   long now = SockNowMs();
   if(g_linkState == BC_LINK_DOWN) {
      if(now < g_nextAttemptMs) return;
      int started = SockConnectBegin(g_linkHost, g_linkPort);
      if(started < 0) {
         LinkFailed("cannot connect to " + g_linkHost + ":" + IntegerToString(g_linkPort)
                    + " (WSA " + IntegerToString(g_sockLastError) + ")");
         return;
      }
      g_linkState = BC_LINK_CONNECTING;
      g_deadlineMs = now + g_linkConnectTimeoutMs;
   }
   if(g_linkState == BC_LINK_CONNECTING) {
      int rc = SockConnectPoll(0);
      if(rc < 0) {
         LinkFailed("connect to " + g_linkHost + ":" + IntegerToString(g_linkPort) + " refused");
         return;
      }
      if(rc == 0) {
         if(now >= g_deadlineMs) LinkFailed("connect timed out");
         return;
      }
      SendHello(now);
      if(g_linkState != BC_LINK_HELLO) return;
   }
   string lines[];
   int n = SockReadLines(lines);
   for(int i = 0; i < n && g_linkState != BC_LINK_DOWN; i++) HandleReply(lines[i]);
   if(g_linkState == BC_LINK_DOWN) return;
   if(!SockIsOpen()) {
      LinkFailed("bridge closed the connection");
      return;
   }
   if(g_linkState == BC_LINK_HELLO) {
      if(SockPump(0) < 0) LinkFailed("hello could not be sent");
      else if(now >= g_deadlineMs) LinkFailed("no welcome within 10 s");
      return;
   }
   PumpLive(now);
}
