# Placeholder: replaced by the calls web UI.
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def call_list(request):
    return HttpResponse("calls")


@login_required
def call_detail(request, pk):
    return HttpResponse("call")
