# Placeholder: replaced by the import API.
from rest_framework.views import APIView


class CallImportView(APIView):
    pass
