"""The REST API, v1: thin DRF viewsets over the registry's services and selectors."""
