//+------------------------------------------------------------------+
//| Spool.mqh - write-ahead log of outgoing frames, seq numbering,   |
//|             and the small file helpers the other modules share.  |
//|                                                                  |
//| Mirrors bridge/client.py: every event gets the next seq and is   |
//| written to MQL4/Files/botcopier_spool_<ea>.jsonl (one frame per  |
//| line) BEFORE it is sent, so nothing is lost while the bridge is  |
//| down or when the terminal restarts. Frames are sent only from    |
//| the file, in seq order, starting after the bridge's acked_seq;   |
//| cumulative acks let the file be emptied (or its acked head cut   |
//| off once it is large). Frames wait in a memory buffer of at most |
//| LogBufferSize entries and are appended on the timer (or when the |
//| buffer is full): one file append per timer, not one per tick.    |
//| next_seq and acked_seq live in botcopier_state_<ea>.txt so seq   |
//| keeps increasing across restarts even after the spool is empty.  |
//| Files are binary UTF-8 with "\n" endings: the lines on disk are  |
//| byte-for-byte the lines on the wire.                             |
//+------------------------------------------------------------------+
#property strict

#define BC_SPOOL_COMPACT_BYTES 4194304
// Largest frame the bridge accepts: a read window this much larger always holds a whole line.
#define BC_SPOOL_READ_SLACK    65536

int    g_fileWriteErrors = 0;
bool   g_bcDebug = false;

void BcDebug(string msg)
{
   if(g_bcDebug)
      Print("[debug] ", msg);
}

//--- UTF-8 bytes of text without the terminating NUL that StringToCharArray appends.
int BcUtf8(string text, uchar &out[])
{
   int n = StringToCharArray(text, out, 0, -1, CP_UTF8);
   if(n > 0 && out[n - 1] == 0)
      n--;
   return n;
}

//--- A missing file reads as empty; false only when an existing file cannot be read.
bool BcFileReadBytes(string name, uchar &buf[], int &len)
{
   len = 0;
   if(!FileIsExist(name))
      return true;
   ResetLastError();
   int h = FileOpen(name, FILE_READ | FILE_BIN | FILE_SHARE_READ);
   if(h == INVALID_HANDLE) {
      Print("BotCopier: cannot open ", name, " for reading, error ", GetLastError());
      return false;
   }
   int size = (int)FileSize(h);
   if(size > 0) {
      ArrayResize(buf, size);
      len = (int)FileReadArray(h, buf, 0, size);
   }
   FileClose(h);
   return len == size;
}

//--- Replaces name with len bytes of buf from start, via a temporary file and a rename, so a
//--- crash leaves either the old or the new content, never half of it.
bool BcFileReplaceBytes(string name, const uchar &buf[], int start, int len)
{
   string tmp = name + ".tmp";
   ResetLastError();
   int h = FileOpen(tmp, FILE_WRITE | FILE_BIN);
   if(h == INVALID_HANDLE) {
      g_fileWriteErrors++;
      Print("BotCopier: cannot write ", tmp, ", error ", GetLastError());
      return false;
   }
   int written = 0;
   if(len > 0)
      written = (int)FileWriteArray(h, buf, start, len);
   FileClose(h);
   if(written != len) {
      g_fileWriteErrors++;
      FileDelete(tmp);
      return false;
   }
   if(!FileMove(tmp, 0, name, FILE_REWRITE)) {
      g_fileWriteErrors++;
      Print("BotCopier: cannot replace ", name, ", error ", GetLastError());
      return false;
   }
   return true;
}

bool BcFileWriteText(string name, string text)
{
   uchar bytes[];
   int n = BcUtf8(text, bytes);
   return BcFileReplaceBytes(name, bytes, 0, n);
}

//--- Non-empty lines of a text file (CR stripped); -1 when it exists but cannot be read.
int BcFileReadLines(string name, string &lines[])
{
   ArrayResize(lines, 0);
   uchar buf[];
   int len = 0;
   if(!BcFileReadBytes(name, buf, len))
      return -1;
   if(len == 0)
      return 0;
   string parts[];
   int n = StringSplit(CharArrayToString(buf, 0, len, CP_UTF8), '\n', parts);
   int count = 0;
   for(int i = 0; i < n; i++) {
      string line = parts[i];
      int l = StringLen(line);
      if(l > 0 && StringGetCharacter(line, l - 1) == '\r')
         line = (l > 1) ? StringSubstr(line, 0, l - 1) : "";
      if(line == "")
         continue;
      ArrayResize(lines, count + 1, 64);
      lines[count] = line;
      count++;
   }
   return count;
}

//--- File names may not contain ':' (allowed in ea_id) or other reserved characters.
string BcSafeFileToken(string s)
{
   string out = s;
   int n = StringLen(out);
   for(int i = 0; i < n; i++) {
      ushort c = StringGetCharacter(out, i);
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '_' || c == '-';
      if(!ok)
         StringSetCharacter(out, i, '_');
   }
   return out;
}

//+------------------------------------------------------------------+
//| Spool state                                                      |
//+------------------------------------------------------------------+
string g_spoolPath = "";
string g_statePath = "";
long   g_nextSeq = 1;
long   g_ackedSeq = 0;
string g_bufLine[];
long   g_bufSeq[];
int    g_bufCount = 0;
int    g_bufLimit = 1000;
long   g_spoolSize = 0;       // bytes in the spool file
long   g_spoolFirstSeq = 0;   // seq of its first line (0 when empty)
long   g_spoolLastSeq = 0;    // seq of its last line (0 when empty)
long   g_sendOffset = 0;      // file offset of the next line to send on this connection
long   g_lastSentSeq = 0;     // highest seq sent on this connection
long   g_ackedEnd = 0;        // file offset up to which every line is acked
long   g_inflSeq[];           // sent, not yet acked: seq and end offset of each line
long   g_inflEnd[];
int    g_inflCount = 0;

//--- Our frames put "seq" right after the "type" literal, so the first "seq": is the frame's.
long SpoolLineSeq(const uchar &buf[], int start, int end)
{
   for(int i = start; i + 6 <= end; i++) {
      if(buf[i] != '"' || buf[i + 1] != 's' || buf[i + 2] != 'e' || buf[i + 3] != 'q'
         || buf[i + 4] != '"' || buf[i + 5] != ':')
         continue;
      long v = 0;
      int j = i + 6;
      while(j < end && buf[j] == ' ')
         j++;
      bool any = false;
      while(j < end && buf[j] >= '0' && buf[j] <= '9') {
         v = v * 10 + (buf[j] - '0');
         j++;
         any = true;
      }
      if(!any)
         return 0;
      return v;
   }
   return 0;
}

bool SpoolSaveState()
{
   string text = "next_seq=" + IntegerToString(g_nextSeq) + "\n"
                 + "acked_seq=" + IntegerToString(g_ackedSeq) + "\n";
   return BcFileWriteText(g_statePath, text);
}

void SpoolLoadState()
{
   string lines[];
   int n = BcFileReadLines(g_statePath, lines);
   for(int i = 0; i < n; i++) {
      int eq = StringFind(lines[i], "=");
      if(eq <= 0)
         continue;
      string key = StringSubstr(lines[i], 0, eq);
      long value = StringToInteger(StringSubstr(lines[i], eq + 1));
      if(key == "next_seq" && value > g_nextSeq)
         g_nextSeq = value;
      else if(key == "acked_seq" && value > g_ackedSeq)
         g_ackedSeq = value;
   }
}

void SpoolResetCursor()
{
   g_sendOffset = 0;
   g_lastSentSeq = g_ackedSeq;
   g_ackedEnd = 0;
   g_inflCount = 0;
}

//--- Rewrites the spool without acked lines and without a torn last line (the process died
//--- mid-append: that frame was never sent, so for the bridge it never existed). Also raises
//--- next_seq past every seq on file, so a lost state file cannot make seq go backwards.
bool SpoolRewrite()
{
   uchar buf[];
   int len = 0;
   if(!BcFileReadBytes(g_spoolPath, buf, len))
      return false;
   int keepStart = -1;
   int keepEnd = 0;
   long first = 0, last = 0, maxSeq = 0;
   int pos = 0;
   while(pos < len) {
      int nl = pos;
      while(nl < len && buf[nl] != '\n')
         nl++;
      if(nl >= len)
         break;
      long seq = SpoolLineSeq(buf, pos, nl);
      if(seq > maxSeq)
         maxSeq = seq;
      if(seq > g_ackedSeq) {
         if(keepStart < 0) {
            keepStart = pos;
            first = seq;
         }
         last = seq;
      }
      keepEnd = nl + 1;
      pos = nl + 1;
   }
   if(maxSeq >= g_nextSeq)
      g_nextSeq = maxSeq + 1;
   int keepLen = (keepStart < 0) ? 0 : keepEnd - keepStart;
   if(keepLen != len) {
      // next_seq must be on disk before the lines that also record it disappear.
      if(!SpoolSaveState())
         return false;
      if(!BcFileReplaceBytes(g_spoolPath, buf, (keepStart < 0) ? 0 : keepStart, keepLen))
         return false;
   }
   g_spoolSize = keepLen;
   g_spoolFirstSeq = first;
   g_spoolLastSeq = last;
   SpoolResetCursor();
   return true;
}

bool SpoolInit(string eaToken, int bufferLimit)
{
   g_spoolPath = "botcopier_spool_" + eaToken + ".jsonl";
   g_statePath = "botcopier_state_" + eaToken + ".txt";
   g_bufLimit = (bufferLimit < 1) ? 1 : bufferLimit;
   g_bufCount = 0;
   g_nextSeq = 1;
   g_ackedSeq = 0;
   SpoolLoadState();
   bool ok = SpoolRewrite();
   if(!ok)
      Print("BotCopier: spool ", g_spoolPath, " could not be read; unsent events may be resent");
   BcDebug("spool " + g_spoolPath + ": next_seq=" + IntegerToString(g_nextSeq)
           + " acked_seq=" + IntegerToString(g_ackedSeq) + " bytes=" + IntegerToString(g_spoolSize));
   return ok;
}

long SpoolAllocSeq()
{
   long seq = g_nextSeq;
   g_nextSeq++;
   return seq;
}

//--- Cuts the file back to size bytes after a failed append: a torn line would otherwise be
//--- glued to the front of the next frame written.
void SpoolTruncateTo(long size)
{
   uchar buf[];
   int len = 0;
   if(BcFileReadBytes(g_spoolPath, buf, len) && size <= len)
      BcFileReplaceBytes(g_spoolPath, buf, 0, (int)size);
}

//--- Appends the buffered frames to the spool file. On failure they stay buffered (the buffer
//--- then grows past LogBufferSize rather than losing trades) and the error is counted.
bool SpoolFlush()
{
   if(g_bufCount == 0)
      return true;
   uchar data[];
   int total = 0;
   for(int i = 0; i < g_bufCount; i++) {
      uchar line[];
      int n = BcUtf8(g_bufLine[i], line);
      ArrayResize(data, total + n + 1, 65536);
      if(n > 0)
         ArrayCopy(data, line, total, 0, n);
      total += n;
      data[total] = '\n';
      total++;
   }
   ResetLastError();
   int h = FileOpen(g_spoolPath, FILE_READ | FILE_WRITE | FILE_BIN | FILE_SHARE_READ);
   if(h == INVALID_HANDLE) {
      g_fileWriteErrors++;
      Print("BotCopier: cannot open spool ", g_spoolPath, ", error ", GetLastError());
      return false;
   }
   long before = (long)FileSize(h);
   int written = 0;
   if(FileSeek(h, 0, SEEK_END))
      written = (int)FileWriteArray(h, data, 0, total);
   FileClose(h);
   if(written != total) {
      g_fileWriteErrors++;
      Print("BotCopier: spool append failed, error ", GetLastError());
      SpoolTruncateTo(before);
      return false;
   }
   if(before == 0 || g_spoolFirstSeq == 0)
      g_spoolFirstSeq = g_bufSeq[0];
   g_spoolSize = before + total;
   g_spoolLastSeq = g_bufSeq[g_bufCount - 1];
   g_bufCount = 0;
   ArrayResize(g_bufLine, 0, 256);
   ArrayResize(g_bufSeq, 0, 256);
   return true;
}

void SpoolAppend(long seq, string frame)
{
   ArrayResize(g_bufLine, g_bufCount + 1, 256);
   ArrayResize(g_bufSeq, g_bufCount + 1, 256);
   g_bufLine[g_bufCount] = frame;
   g_bufSeq[g_bufCount] = seq;
   g_bufCount++;
   if(g_bufCount >= g_bufLimit)
      SpoolFlush();
}

//--- Called before hello: everything buffered goes to disk, acked lines are dropped, and the
//--- return value is hello.resume_from (the lowest seq not seen acked).
long SpoolPrepareSession()
{
   SpoolFlush();
   if(g_spoolSize > 0 && g_spoolFirstSeq <= g_ackedSeq)
      SpoolRewrite();
   else
      SpoolResetCursor();
   if(g_spoolSize > 0 && g_spoolFirstSeq > 0)
      return g_spoolFirstSeq;
   if(g_bufCount > 0)
      return g_bufSeq[0];
   return g_nextSeq;
}

//--- welcome.acked_seq: drop what the bridge already has and replay the rest from the start.
void SpoolOnWelcome(long bridgeAcked)
{
   if(bridgeAcked >= g_nextSeq) {
      // The bridge knows seqs this EA has forgotten (its files were reset). New events must be
      // numbered past them, or the bridge would take them for resends and drop them.
      Print("BotCopier: bridge acked_seq ", bridgeAcked, " is ahead of local next_seq ", g_nextSeq,
            "; renumbering from ", bridgeAcked + 1);
      g_nextSeq = bridgeAcked + 1;
      SpoolSaveState();
   }
   if(bridgeAcked > g_ackedSeq) {
      g_ackedSeq = bridgeAcked;
      SpoolRewrite();
   } else
      SpoolResetCursor();
}

//--- Up to maxBytes of unsent frames (whole lines, seq order) into out; returns the byte count.
int SpoolTakeBatch(uchar &out[], int maxBytes, int maxInFlight)
{
   if(g_sendOffset >= g_spoolSize || g_inflCount >= maxInFlight)
      return 0;
   long base = g_sendOffset;
   long want = g_spoolSize - base;
   if(want > maxBytes + BC_SPOOL_READ_SLACK)
      want = maxBytes + BC_SPOOL_READ_SLACK;
   ResetLastError();
   int h = FileOpen(g_spoolPath, FILE_READ | FILE_BIN | FILE_SHARE_READ);
   if(h == INVALID_HANDLE)
      return 0;
   uchar buf[];
   int got = 0;
   if(FileSeek(h, base, SEEK_SET)) {
      ArrayResize(buf, (int)want);
      got = (int)FileReadArray(h, buf, 0, (int)want);
   }
   FileClose(h);
   int total = 0;
   int pos = 0;
   while(pos < got && total < maxBytes && g_inflCount < maxInFlight) {
      int nl = pos;
      while(nl < got && buf[nl] != '\n')
         nl++;
      if(nl >= got)
         break;
      long seq = SpoolLineSeq(buf, pos, nl);
      int len = nl + 1 - pos;
      if(seq > g_lastSentSeq) {
         ArrayResize(out, total + len, 65536);
         ArrayCopy(out, buf, total, pos, len);
         total += len;
         ArrayResize(g_inflSeq, g_inflCount + 1, 1024);
         ArrayResize(g_inflEnd, g_inflCount + 1, 1024);
         g_inflSeq[g_inflCount] = seq;
         g_inflEnd[g_inflCount] = base + nl + 1;
         g_inflCount++;
         g_lastSentSeq = seq;
      }
      pos = nl + 1;
   }
   if(pos == 0 && got > 0 && want < g_spoolSize - base) {
      // No newline in a window larger than any valid frame: corrupt bytes; step over them.
      Print("BotCopier: skipping ", got, " corrupt spool bytes at offset ", base);
      pos = got;
   }
   g_sendOffset = base + pos;
   return total;
}

//--- Cuts the acked head off a large spool (the rest keeps its order).
void SpoolDropAckedHead()
{
   uchar buf[];
   int len = 0;
   if(!BcFileReadBytes(g_spoolPath, buf, len))
      return;
   int cut = (int)g_ackedEnd;
   if(cut <= 0 || cut > len || !SpoolSaveState())
      return;
   if(!BcFileReplaceBytes(g_spoolPath, buf, cut, len - cut))
      return;
   g_spoolSize = len - cut;
   g_sendOffset -= cut;
   for(int i = 0; i < g_inflCount; i++)
      g_inflEnd[i] -= cut;
   g_ackedEnd = 0;
   int nl = cut;
   while(nl < len && buf[nl] != '\n')
      nl++;
   g_spoolFirstSeq = 0;
   if(nl < len)
      g_spoolFirstSeq = SpoolLineSeq(buf, cut, nl);
   if(g_spoolSize == 0)
      g_spoolLastSeq = 0;
}

//--- Cumulative ack: every frame with seq <= ack is in Kafka (or dead-lettered) for good.
void SpoolOnAck(long ack)
{
   if(ack > g_ackedSeq)
      g_ackedSeq = ack;
   int k = 0;
   while(k < g_inflCount && g_inflSeq[k] <= ack) {
      g_ackedEnd = g_inflEnd[k];
      k++;
   }
   if(k > 0) {
      int left = g_inflCount - k;
      for(int i = 0; i < left; i++) {
         g_inflSeq[i] = g_inflSeq[i + k];
         g_inflEnd[i] = g_inflEnd[i + k];
      }
      g_inflCount = left;
   }
   if(g_spoolSize > 0 && g_ackedSeq >= g_spoolLastSeq && g_sendOffset >= g_spoolSize) {
      // All on file is acked: empty it. State first, since the spool stops recording next_seq.
      uchar none[];
      if(SpoolSaveState() && BcFileReplaceBytes(g_spoolPath, none, 0, 0)) {
         g_spoolSize = 0;
         g_spoolFirstSeq = 0;
         g_spoolLastSeq = 0;
         g_sendOffset = 0;
         g_ackedEnd = 0;
         g_inflCount = 0;
      }
   } else if(g_ackedEnd >= BC_SPOOL_COMPACT_BYTES)
      SpoolDropAckedHead();
}

//--- Frames written or buffered but not yet acked (for logs).
long SpoolUnacked()
{
   long onFile = 0;
   if(g_spoolLastSeq > g_ackedSeq)
      onFile = g_spoolLastSeq - g_ackedSeq;
   return onFile + g_bufCount;
}

void SpoolClose()
{
   SpoolFlush();
   SpoolSaveState();
}
//+------------------------------------------------------------------+
