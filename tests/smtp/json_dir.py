"""An aiosmtpd handler for the tests: each message the real SMTP server receives is written, decoded by Python's
email package, as one JSON file (envelope, headers, subject, text and HTML parts) in the folder given:
    PYTHONPATH=tests/smtp python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c json_dir.JsonDir FOLDER
"""
import json
import os
import uuid
from email import message_from_bytes, policy


class JsonDir:
    def __init__(self, folder):
        self.folder = folder

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("JsonDir takes one argument: the folder to write messages to")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        parts = {p.get_content_type(): p.get_content() for p in msg.walk() if not p.is_multipart()}
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "subject": str(msg["subject"]),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        name = str(uuid.uuid4())
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.folder, name + ".json"))
        return "250 Message accepted for delivery"
