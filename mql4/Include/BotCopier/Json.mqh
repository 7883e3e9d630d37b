//+------------------------------------------------------------------+
//| Json.mqh - canonical JSON value and key/value helpers.           |
//|                                                                  |
//| Every frame the EA sends is built from these ten functions only, |
//| so the bytes on the wire are fully determined by their rules and |
//| can be checked byte-for-byte against a reference implementation  |
//| on the Python side. The rules are deliberately small: no         |
//| whitespace, fixed escaping, fixed number formatting.             |
//+------------------------------------------------------------------+
#property strict

//--- Escapes exactly what JSON requires plus CR/tab; everything at or above 0x20 passes
//--- unchanged so non-ASCII text survives and is UTF-8 encoded once, at send time.
string JsonEscape(string s)
{
   int n = StringLen(s);
   if(n == 0)
      return "";
   string out = "";
   int runStart = 0;
   for(int i = 0; i < n; i++) {
      ushort c = StringGetCharacter(s, i);
      string rep = "";
      if(c == '"')
         rep = "\\\"";
      else if(c == '\\')
         rep = "\\\\";
      else if(c == '\n')
         rep = "\\n";
      else if(c == '\r')
         rep = "\\r";
      else if(c == '\t')
         rep = "\\t";
      else if(c < 0x20)
         rep = StringFormat("\\u%04x", (int)c);
      else
         continue;
      // StringSubstr treats a length <= 0 as "to the end", so empty runs are skipped explicitly.
      if(i > runStart)
         out += StringSubstr(s, runStart, i - runStart);
      out += rep;
      runStart = i + 1;
   }
   if(runStart == 0)
      return s;
   if(runStart < n)
      out += StringSubstr(s, runStart, n - runStart);
   return out;
}

string JsonString(string s)
{
   return "\"" + JsonEscape(s) + "\"";
}

string JsonLong(long v)
{
   return IntegerToString(v);
}

//--- Eight decimals cover every price, lot and money value MT4 produces; trailing zeros are
//--- stripped so the text is short and identical to the reference formatter.
string JsonDouble(double v)
{
   // NaN/Inf have no JSON spelling; a frame with them would only be dead-lettered.
   if(!MathIsValidNumber(v))
      return "0.0";
   string s = DoubleToString(v, 8);
   int n = StringLen(s);
   while(n > 0 && StringGetCharacter(s, n - 1) == '0')
      n--;
   if(n > 0)
      s = StringSubstr(s, 0, n);
   if(n > 0 && StringGetCharacter(s, n - 1) == '.')
      s += "0";
   if(s == "-0.0")
      s = "0.0";
   return s;
}

string JsonKeyString(string key, string v)
{
   return "\"" + key + "\":" + JsonString(v);
}

string JsonKeyLong(string key, long v)
{
   return "\"" + key + "\":" + JsonLong(v);
}

string JsonKeyDouble(string key, double v)
{
   return "\"" + key + "\":" + JsonDouble(v);
}

string JsonKeyBool(string key, bool v)
{
   return "\"" + key + "\":" + (v ? "true" : "false");
}

string JsonKeyLongOrNull(string key, long v, bool isNull)
{
   return "\"" + key + "\":" + (isNull ? "null" : JsonLong(v));
}

string JsonKeyDoubleOrNull(string key, double v, bool isNull)
{
   return "\"" + key + "\":" + (isNull ? "null" : JsonDouble(v));
}

//--- An Avro map of doubles: {"name":value,...} in the order of names.
string JsonKeyDoubleMap(string key, const string &names[], const double &values[])
{
   string out = "\"" + key + "\":{";
   for(int i = 0; i < ArraySize(names); i++) {
      if(i > 0)
         out += ",";
      out += JsonString(names[i]) + ":" + JsonDouble(values[i]);
   }
   return out + "}";
}
//+------------------------------------------------------------------+
