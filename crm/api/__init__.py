"""The JSON API's shared plumbing: scoped base viewset, money field, cursor pagination, JSON errors, router.

Each record app keeps its serializers and viewsets in `<app>/api.py`; like views, they are thin: scope,
validate the input, call the same service the seller UI calls, serialize the result.
"""
