//+------------------------------------------------------------------+
//| Frames.mqh - bridge wire frames (bridge/PROTOCOL.md, version 1). |
//|                                                                  |
//| Builders: one function per frame type, one line per field, in    |
//| the Avro schema's field order (schemas/*.avsc). The bridge-set   |
//| fields ea_id, trace_id and span_id are never sent (the bridge    |
//| refuses spoofed link/trace ids); seq goes right after "type".    |
//| The body form is kept literal on purpose: a static checker on    |
//| the Python side compares these lines against the schemas, so a   |
//| schema change that is not mirrored here fails CI, not Kafka.     |
//| Frames carry no trailing newline; the sender appends "\n".       |
//|                                                                  |
//| Readers: a small top-level JSON field scanner for the bridge's   |
//| replies (welcome/ack/error/pong). It walks the object properly   |
//| (strings, escapes, nesting) so a key name quoted inside an error |
//| reason can never be mistaken for the real field.                 |
//+------------------------------------------------------------------+
#property strict

#include "Json.mqh"

string BuildTradeFrame(long seq, string eventId, int schemaVersion, long eventTimeMs, long account, string broker, long magic, long ticket, long parentTicket, bool parentTicketIsNull, string symbol, string action, string orderType, double lots, double openPrice, long openTimeMs, bool openTimeMsIsNull, double closePrice, bool closePriceIsNull, long closeTimeMs, bool closeTimeMsIsNull, double sl, double tp, double profit, double swap, double commission, string comment, int spreadPoints, double remainingLots)
{
   string f = "{";
   f += JsonKeyString("type", "trade");
   f += "," + JsonKeyLong("seq", seq);
   f += "," + JsonKeyString("event_id", eventId);
   f += "," + JsonKeyLong("schema_version", schemaVersion);
   f += "," + JsonKeyLong("event_time_ms", eventTimeMs);
   f += "," + JsonKeyLong("account", account);
   f += "," + JsonKeyString("broker", broker);
   f += "," + JsonKeyLong("magic", magic);
   f += "," + JsonKeyLong("ticket", ticket);
   f += "," + JsonKeyLongOrNull("parent_ticket", parentTicket, parentTicketIsNull);
   f += "," + JsonKeyString("symbol", symbol);
   f += "," + JsonKeyString("action", action);
   f += "," + JsonKeyString("order_type", orderType);
   f += "," + JsonKeyDouble("lots", lots);
   f += "," + JsonKeyDouble("open_price", openPrice);
   f += "," + JsonKeyLongOrNull("open_time_ms", openTimeMs, openTimeMsIsNull);
   f += "," + JsonKeyDoubleOrNull("close_price", closePrice, closePriceIsNull);
   f += "," + JsonKeyLongOrNull("close_time_ms", closeTimeMs, closeTimeMsIsNull);
   f += "," + JsonKeyDouble("sl", sl);
   f += "," + JsonKeyDouble("tp", tp);
   f += "," + JsonKeyDouble("profit", profit);
   f += "," + JsonKeyDouble("swap", swap);
   f += "," + JsonKeyDouble("commission", commission);
   f += "," + JsonKeyString("comment", comment);
   f += "," + JsonKeyLong("spread_points", spreadPoints);
   f += "," + JsonKeyDouble("remaining_lots", remainingLots);
   f += "}";
   return f;
}

string BuildMetricFrame(long seq, string eventId, int schemaVersion, long eventTimeMs, long account, long magic, int windowDays, double winRate, double avgProfit, int tradeCount, double maxDrawdown, double sharpe, int fileWriteErrors, int socketErrors)
{
   string f = "{";
   f += JsonKeyString("type", "metric");
   f += "," + JsonKeyLong("seq", seq);
   f += "," + JsonKeyString("event_id", eventId);
   f += "," + JsonKeyLong("schema_version", schemaVersion);
   f += "," + JsonKeyLong("event_time_ms", eventTimeMs);
   f += "," + JsonKeyLong("account", account);
   f += "," + JsonKeyLong("magic", magic);
   f += "," + JsonKeyLong("window_days", windowDays);
   f += "," + JsonKeyDouble("win_rate", winRate);
   f += "," + JsonKeyDouble("avg_profit", avgProfit);
   f += "," + JsonKeyLong("trade_count", tradeCount);
   f += "," + JsonKeyDouble("max_drawdown", maxDrawdown);
   f += "," + JsonKeyDouble("sharpe", sharpe);
   f += "," + JsonKeyLong("file_write_errors", fileWriteErrors);
   f += "," + JsonKeyLong("socket_errors", socketErrors);
   f += "}";
   return f;
}

string BuildTickFrame(long seq, string eventId, int schemaVersion, long eventTimeMs, string broker, string symbol, double bid, double ask, long volume)
{
   string f = "{";
   f += JsonKeyString("type", "tick");
   f += "," + JsonKeyLong("seq", seq);
   f += "," + JsonKeyString("event_id", eventId);
   f += "," + JsonKeyLong("schema_version", schemaVersion);
   f += "," + JsonKeyLong("event_time_ms", eventTimeMs);
   f += "," + JsonKeyString("broker", broker);
   f += "," + JsonKeyString("symbol", symbol);
   f += "," + JsonKeyDouble("bid", bid);
   f += "," + JsonKeyDouble("ask", ask);
   f += "," + JsonKeyLong("volume", volume);
   f += "}";
   return f;
}

string BuildBarFrame(long seq, string eventId, int schemaVersion, long eventTimeMs, string broker, string symbol, int timeframeMinutes, double open, double high, double low, double close, long tickVolume, int spreadPoints)
{
   string f = "{";
   f += JsonKeyString("type", "bar");
   f += "," + JsonKeyLong("seq", seq);
   f += "," + JsonKeyString("event_id", eventId);
   f += "," + JsonKeyLong("schema_version", schemaVersion);
   f += "," + JsonKeyLong("event_time_ms", eventTimeMs);
   f += "," + JsonKeyString("broker", broker);
   f += "," + JsonKeyString("symbol", symbol);
   f += "," + JsonKeyLong("timeframe_minutes", timeframeMinutes);
   f += "," + JsonKeyDouble("open", open);
   f += "," + JsonKeyDouble("high", high);
   f += "," + JsonKeyDouble("low", low);
   f += "," + JsonKeyDouble("close", close);
   f += "," + JsonKeyLong("tick_volume", tickVolume);
   f += "," + JsonKeyLong("spread_points", spreadPoints);
   f += "}";
   return f;
}

string BuildDecisionFrame(long seq, string eventId, int schemaVersion, long eventTimeMs, long account, long magic, string symbol, string modelName, string modelVersion, string action, double probability, double threshold, const string &featuresNames[], const double &featuresValues[], bool uncertain)
{
   string f = "{";
   f += JsonKeyString("type", "decision");
   f += "," + JsonKeyLong("seq", seq);
   f += "," + JsonKeyString("event_id", eventId);
   f += "," + JsonKeyLong("schema_version", schemaVersion);
   f += "," + JsonKeyLong("event_time_ms", eventTimeMs);
   f += "," + JsonKeyLong("account", account);
   f += "," + JsonKeyLong("magic", magic);
   f += "," + JsonKeyString("symbol", symbol);
   f += "," + JsonKeyString("model_name", modelName);
   f += "," + JsonKeyString("model_version", modelVersion);
   f += "," + JsonKeyString("action", action);
   f += "," + JsonKeyDouble("probability", probability);
   f += "," + JsonKeyDouble("threshold", threshold);
   f += "," + JsonKeyDoubleMap("features", featuresNames, featuresValues);
   f += "," + JsonKeyBool("uncertain", uncertain);
   f += "}";
   return f;
}

string BuildHelloFrame(int protocol, string eaId, long account, string token, int schemaVersion, long resumeFrom)
{
   string f = "{";
   f += JsonKeyString("type", "hello");
   f += "," + JsonKeyLong("protocol", protocol);
   f += "," + JsonKeyString("ea_id", eaId);
   f += "," + JsonKeyLong("account", account);
   f += "," + JsonKeyString("token", token);
   f += "," + JsonKeyLong("schema_version", schemaVersion);
   f += "," + JsonKeyLong("resume_from", resumeFrom);
   f += "}";
   return f;
}

string BuildPingFrame(long t)
{
   string f = "{";
   f += JsonKeyString("type", "ping");
   f += "," + JsonKeyLong("t", t);
   f += "}";
   return f;
}

//+------------------------------------------------------------------+
//| Reply reading                                                    |
//+------------------------------------------------------------------+
int ReplySkipWs(const string s, int i, int n)
{
   while(i < n) {
      ushort c = StringGetCharacter(s, i);
      if(c != ' ' && c != '\t' && c != '\r' && c != '\n')
         break;
      i++;
   }
   return i;
}

int ReplyHexDigit(ushort c)
{
   if(c >= '0' && c <= '9')
      return c - '0';
   if(c >= 'a' && c <= 'f')
      return c - 'a' + 10;
   if(c >= 'A' && c <= 'F')
      return c - 'A' + 10;
   return 0;
}

//--- Parses the JSON string whose opening quote is at i; returns the index after the closing
//--- quote (or -1 if the string is unterminated) and the unescaped text in out.
int ReplyParseString(const string s, int i, int n, string &out)
{
   out = "";
   if(i >= n || StringGetCharacter(s, i) != '"')
      return -1;
   i++;
   int runStart = i;
   while(i < n) {
      ushort c = StringGetCharacter(s, i);
      if(c == '"') {
         if(i > runStart)
            out += StringSubstr(s, runStart, i - runStart);
         return i + 1;
      }
      if(c != '\\') {
         i++;
         continue;
      }
      if(i > runStart)
         out += StringSubstr(s, runStart, i - runStart);
      if(i + 1 >= n)
         return -1;
      ushort e = StringGetCharacter(s, i + 1);
      int used = 2;
      if(e == 'n')
         out += "\n";
      else if(e == 'r')
         out += "\r";
      else if(e == 't')
         out += "\t";
      else if(e == 'b')
         out += ShortToString(8);
      else if(e == 'f')
         out += ShortToString(12);
      else if(e == 'u') {
         if(i + 5 >= n)
            return -1;
         int code = 0;
         for(int k = 2; k < 6; k++)
            code = code * 16 + ReplyHexDigit(StringGetCharacter(s, i + k));
         out += ShortToString((ushort)code);
         used = 6;
      } else
         out += ShortToString(e);
      i += used;
      runStart = i;
   }
   return -1;
}

//--- Index just past a non-string value (number, literal, object, array) starting at i.
int ReplySkipValue(const string s, int i, int n)
{
   int depth = 0;
   while(i < n) {
      ushort c = StringGetCharacter(s, i);
      if(c == '"') {
         string ignored;
         i = ReplyParseString(s, i, n, ignored);
         if(i < 0)
            return -1;
         continue;
      }
      if(c == '{' || c == '[')
         depth++;
      else if(c == '}' || c == ']') {
         if(depth == 0)
            return i;
         depth--;
      } else if(c == ',' && depth == 0)
         return i;
      i++;
   }
   return i;
}

//--- Finds key among the top-level members of the object in line. value receives the unescaped
//--- text of a string value, or the raw token of any other value ("12", "true", "null").
bool ReplyField(const string line, const string key, string &value, bool &isString)
{
   value = "";
   isString = false;
   int n = StringLen(line);
   int i = ReplySkipWs(line, 0, n);
   if(i >= n || StringGetCharacter(line, i) != '{')
      return false;
   i++;
   for(int guard = 0; guard < 10000; guard++) {
      i = ReplySkipWs(line, i, n);
      if(i >= n || StringGetCharacter(line, i) != '"')
         return false;
      string k;
      i = ReplyParseString(line, i, n, k);
      if(i < 0)
         return false;
      i = ReplySkipWs(line, i, n);
      if(i >= n || StringGetCharacter(line, i) != ':')
         return false;
      i = ReplySkipWs(line, i + 1, n);
      if(i >= n)
         return false;
      int end = -1;
      if(StringGetCharacter(line, i) == '"') {
         string text;
         end = ReplyParseString(line, i, n, text);
         if(end < 0)
            return false;
         if(k == key) {
            value = text;
            isString = true;
            return true;
         }
      } else {
         end = ReplySkipValue(line, i, n);
         if(end < 0)
            return false;
         if(k == key) {
            if(end > i)
               value = StringTrimRight(StringSubstr(line, i, end - i));
            return true;
         }
      }
      i = ReplySkipWs(line, end, n);
      if(i >= n || StringGetCharacter(line, i) != ',')
         return false;
      i++;
   }
   return false;
}

string ReplyString(const string line, const string key, const string fallback)
{
   string value;
   bool isString;
   if(!ReplyField(line, key, value, isString) || !isString)
      return fallback;
   return value;
}

long ReplyLong(const string line, const string key, const long fallback)
{
   string value;
   bool isString;
   if(!ReplyField(line, key, value, isString) || isString || value == "" || value == "null")
      return fallback;
   return StringToInteger(value);
}

bool ReplyBool(const string line, const string key, const bool fallback)
{
   string value;
   bool isString;
   if(!ReplyField(line, key, value, isString) || isString)
      return fallback;
   if(value == "true")
      return true;
   if(value == "false")
      return false;
   return fallback;
}
//+------------------------------------------------------------------+
