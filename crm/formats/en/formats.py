"""English date and time formats that differ from Django's (settings.FORMAT_MODULE_PATH); the rest are Django's.

Django's English time ("P": "8:25 p.m.") ends in a full stop, so every sentence that ends with a time showed two:
"E-mailed to … on 12/04/2026 8:25 p.m..", or a customer's "Accepted by … on …". "8:25 PM" ends a sentence cleanly.
"""

TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "N j, Y, g:i A"
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
