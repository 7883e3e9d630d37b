//+------------------------------------------------------------------+
//| Router.mqh - ask `botcopier router` which model to trade with,   |
//| and tell it how each trade went.                                 |
//|                                                                  |
//| HTTP through MT4's WebRequest, so no DLL is needed, but MT4 only |
//| lets an EA reach URLs the user allowed: Tools > Options > Expert |
//| Advisors > "Allow WebRequest for listed URL", add the router's   |
//| base URL, e.g. http://127.0.0.1:9111 (port included).            |
//|                                                                  |
//| WebRequest blocks the EA's thread until the reply or the timeout:|
//| call RouterChoose when a decision is due (a new bar), not on     |
//| every tick, and keep the timeout short. MT4 refuses WebRequest   |
//| in the Strategy Tester: there RouterChoose returns the fallback. |
//|                                                                  |
//|   RouterInit("http://127.0.0.1:9111", 2000);                     |
//|   int arm = RouterChoose(0);        // model index 0..N-1       |
//|   ... when the trade closes:                                     |
//|   RouterReward(arm, OrderProfit() + OrderSwap()                  |
//|                     + OrderCommission());                        |
//+------------------------------------------------------------------+
#property strict

string g_routerUrl = "http://127.0.0.1:9111";
int    g_routerTimeoutMs = 2000;
// The reason of the last failure (HTTP status and body, or WebRequest's error code).
string g_routerLastError = "";

void RouterInit(string baseUrl, int timeoutMs)
{
   g_routerUrl = baseUrl;
   // A trailing slash would make "//choose", which the router does not know.
   while(StringLen(g_routerUrl) > 0 &&
         StringGetCharacter(g_routerUrl, StringLen(g_routerUrl) - 1) == '/')
      g_routerUrl = StringSubstr(g_routerUrl, 0, StringLen(g_routerUrl) - 1);
   g_routerTimeoutMs = timeoutMs;
}

//--- One request; returns the HTTP status (-1 when WebRequest failed) and the reply body.
int RouterRequest(string method, string path, string body, string &reply)
{
   reply = "";
   if(IsTesting() || IsOptimization()) {
      g_routerLastError = "WebRequest is not available in the Strategy Tester";
      return -1;
   }
   char data[];
   char result[];
   string replyHeaders = "";
   // Without a length, StringToCharArray copies the terminating zero into the body too.
   if(StringLen(body) > 0)
      StringToCharArray(body, data, 0, StringLen(body));
   ResetLastError();
   // The 9-argument form (cookie, referer, body size): every MT4 build since 600 has it, and
   // it sends the body as Content-Type: application/x-www-form-urlencoded, what the router
   // reads. The 7-argument form with custom headers came later; older compilers refuse it.
   int status = WebRequest(method, g_routerUrl + path, "", "", g_routerTimeoutMs, data,
                           ArraySize(data), result, replyHeaders);
   if(status == -1) {
      int code = GetLastError();
      g_routerLastError = StringFormat("WebRequest %s %s failed (error %d); is %s among the "
                                       + "allowed URLs (Tools > Options > Expert Advisors)?",
                                       method, path, code, g_routerUrl);
      return -1;
   }
   reply = CharArrayToString(result, 0, ArraySize(result), CP_UTF8);
   if(status != 200)
      g_routerLastError = StringFormat("%s %s: HTTP %d %s", method, path, status, reply);
   return status;
}

//--- The integer after "key": in a flat JSON object; fallback when absent or not a number.
int RouterJsonInt(string json, string key, int fallback)
{
   int at = StringFind(json, "\"" + key + "\"");
   if(at < 0)
      return fallback;
   at = StringFind(json, ":", at + StringLen(key) + 2);
   if(at < 0)
      return fallback;
   int n = StringLen(json);
   int i = at + 1;
   while(i < n && (StringGetCharacter(json, i) == ' ' || StringGetCharacter(json, i) == '\t'))
      i++;
   int start = i;
   if(i < n && StringGetCharacter(json, i) == '-')
      i++;
   int digits = 0;
   while(i < n && StringGetCharacter(json, i) >= '0' && StringGetCharacter(json, i) <= '9') {
      i++;
      digits++;
   }
   if(digits == 0)
      return fallback;
   return (int)StringToInteger(StringSubstr(json, start, i - start));
}

//--- The model to trade with next (the router's arm index), or fallback when the router
//--- cannot be asked; the reason is in g_routerLastError.
int RouterChoose(int fallback)
{
   string reply;
   if(RouterRequest("GET", "/choose", "", reply) != 200)
      return fallback;
   int arm = RouterJsonInt(reply, "arm", -1);
   if(arm < 0) {
      g_routerLastError = "no arm in the router's reply: " + reply;
      return fallback;
   }
   return arm;
}

//--- Reports one trade's outcome (profit in account currency, or pips: the same unit every
//--- time). True once the router has saved it; false (reason in g_routerLastError) otherwise,
//--- and the EA may send it again later.
bool RouterReward(int arm, double reward)
{
   string body = "arm=" + IntegerToString(arm) + "&reward=" + DoubleToString(reward, 8);
   string reply;
   return RouterRequest("POST", "/reward", body, reply) == 200;
}
//+------------------------------------------------------------------+
