from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST


def landing(request):
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    return render(request, "accounts/landing.html")


@login_required
def dashboard(request):
    return render(request, "accounts/dashboard.html")


@login_required
def profile(request):
    return render(request, "accounts/profile.html")


def login_page(request):
    from django.contrib.auth.forms import AuthenticationForm

    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect(request.GET.get("next") or "accounts:dashboard")
    return render(request, "accounts/login.html", {"form": form}, status=422 if form.errors else 200)


def signup(request):
    return render(request, "accounts/signup.html")


@require_POST
def logout_view(request):
    logout(request)
    return redirect("accounts:landing")
